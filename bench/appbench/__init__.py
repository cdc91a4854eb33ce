"""The in-app autonomous benchmark's parts (`bench/eval/app_autonomous.py` is its command line).

- `metrics`: pure logic: the episode plan, the refusal rule, 1 s loop windows, the result's exact keys;
- `inproc`: the real app started in this process as `app.py` starts it, plus read-only probes;
- `page`: the headless chromium page on the Autonomous tab (type, press, read, drive with the keyboard);
- `starts`: the start states (home, after teleop, after a command), reached through the page's keyboard;
- `episodes`: one task command or one refusal item, end to end, as a record;
- `quantized`: the app's quantized action decoding against fp32 on prompts captured during the run.
"""
