"""Benchmark the embedded default VLM: load times, held-out scene VQA, speed and agreement per precision.

    python bench/eval/model.py [--scenes 40] [--threads 2] [--precisions fp32,bf16,int8-head,int8-weight,int8-dynamic]

Writes bench/results/model.json and prints one summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from core.model.chat import answer
from core.model.loader import default_model_dir, load_model
from core.model.quantize import CPU_DEFAULT
from core.model.scene_qa import normalize_answer
from core.model.vqa import evaluate, make_vqa_set
from core.model.worker import run
from core.policy.reader import SceneLayout, answer_reading
from core.policy.shipped import READER_NAME as READER
from core.policy.shipped import load_reader

RESULTS = Path(__file__).resolve().parent / "results" / "model.json"
MULTILINGUAL = {
    "es": "El gato negro duerme en",
    "fr": "Le petit chat noir dort sur",
    "de": "Der kleine schwarze Hund schläft auf",
    "zh": "我今天早上去了",
    "ja": "今日はとても天気がいいので、",
}


def default_path_rss_mb() -> float:
    """Peak RSS of a fresh process that loads the default model (warm) and answers three questions."""
    code = (
        "import resource, numpy as np, torch\n"
        f"torch.set_num_threads({torch.get_num_threads()})\n"
        "from core.model.loader import load_model\nfrom core.model.chat import answer\n"
        "from core.policy.reader import SceneLayout, answer_reading\nfrom core.policy.shipped import load_reader\n"
        "m = load_model()\nlay = SceneLayout.load()\nname = load_reader(m.model)\n"
        "img = np.zeros((224, 224, 3), np.uint8)\n"
        "for q in ('How many blocks are there?', 'What is in the bowl?', 'Describe the scene.'):\n"
        "    answer_reading(m, lay, name, img, q, max_new_tokens=24)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def tokens_per_s(loaded, image, n_tokens: int = 32) -> float:  # noqa: ANN001
    from core.model.chat import prepare_inputs

    inputs = prepare_inputs(loaded, image, "Describe the scene.")
    kw = {"max_new_tokens": n_tokens, "min_new_tokens": n_tokens, "do_sample": False}
    with torch.inference_mode():
        loaded.model.generate(**inputs, max_new_tokens=2, do_sample=False)  # warm-up
        t = time.perf_counter()
        loaded.model.generate(**inputs, **kw)
        return n_tokens / (time.perf_counter() - t)


def continuations(loaded, n_tokens: int = 16) -> dict[str, str]:  # noqa: ANN001
    tok = loaded.processor.tokenizer
    out = {}
    for lang, prompt in MULTILINGUAL.items():
        enc = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            ids = loaded.model.generate(**enc, max_new_tokens=n_tokens, do_sample=False)
        out[lang] = tok.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16,int8-head,int8-weight,int8-dynamic")
    ap.add_argument("--agreement-questions", type=int, default=120)
    ap.add_argument("--gguf", action="store_true", help="also time the one-off GGUF -> safetensors conversion")
    args = ap.parse_args()
    run(torch.set_num_threads, args.threads)  # on the model thread, where all the torch work runs
    out: dict = {"threads": args.threads, "cpu_default_precision": CPU_DEFAULT}

    if args.gguf:  # first start on a fresh machine: dequantize the GGUF into an empty cache
        import tempfile

        from core.model.text_lm import ensure_text_lm

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            ensure_text_lm(Path(tmp) / "text")
            out["gguf_convert_s"] = time.perf_counter() - t

    vqa = make_vqa_set(args.scenes)
    out["vqa_questions"] = len(vqa.items)
    image = vqa.images[0]

    # cold = assemble the default from the cached text model + shipped assets; warm = reload the result
    path = default_model_dir()
    shutil.rmtree(path)
    t = time.perf_counter()
    run(default_model_dir)
    out["assemble_s"] = time.perf_counter() - t
    loaded = run(load_model)
    out["load_s_cold"] = out["assemble_s"] + loaded.load_s
    loaded = run(load_model)
    out["load_s_warm"] = loaded.load_s
    out["precision"] = loaded.precision

    # the app's chat path: the scene reader answers after the object locator's layout line
    # (`core.policy.reader`); all torch work on the model thread, as in the app (a second thread's OpenMP
    # team slows every kernel)
    layout = run(SceneLayout.load)
    out["layout_line"] = layout is not None and run(load_reader, loaded.model) is not None

    def ask(lm, img, q: str) -> str:  # noqa: ANN001
        if READER not in (getattr(lm.model, "peft_config", None) or {}):  # no reader (e.g. int8 layers): bare
            return answer(lm, img, q, max_new_tokens=12)
        return answer_reading(lm, layout, READER, img, q)

    times: list[float] = []

    def timed(img, q: str, lm=loaded) -> str:  # noqa: ANN001
        t0 = time.perf_counter()
        a = ask(lm, img, q)
        times.append(time.perf_counter() - t0)
        return a

    res = evaluate(timed, vqa)
    out["vqa_accuracy"] = res.accuracy
    out["vqa_per_kind"] = res.per_kind
    plain = evaluate(lambda img, q, lm=loaded: answer(lm, img, q, max_new_tokens=12), vqa)
    out["vqa_accuracy_without_layout"] = plain.accuracy  # the default model itself: image and question only
    out["vqa_per_kind_without_layout"] = plain.per_kind
    out["answer_s_p50"] = statistics.median(times)
    out["peak_rss_mb"] = default_path_rss_mb()
    default_preds = [normalize_answer(p) for p in res.predictions]
    out["multilingual_default"] = run(continuations, loaded)
    loaded = None

    per: dict[str, dict] = {}
    fp32_preds: list[str] = []
    n_agree = min(args.agreement_questions, len(vqa.items))
    for prec in args.precisions.split(","):
        lm = run(load_model, precision=prec)
        reader = out["layout_line"] and run(load_reader, lm.model) is not None  # not on int8 layers
        r = evaluate(lambda img, q, lm=lm: ask(lm, img, q), vqa, limit=n_agree)
        preds = [normalize_answer(p) for p in r.predictions]
        if prec == "fp32":
            fp32_preds = preds
            out["multilingual_fp32"] = run(continuations, lm)
        per[prec] = {"scene_reader": reader, "load_s": lm.load_s, "tokens_per_s": run(tokens_per_s, lm, image),
                     "vqa_accuracy_subset": r.accuracy, "answer_s_mean": r.seconds / max(1, r.n)}
        if fp32_preds:
            per[prec]["match_rate_vs_fp32"] = sum(a == b for a, b in zip(preds, fp32_preds, strict=False)) / len(preds)
        del lm
    out["per_precision"] = per
    out["tokens_per_s"] = {"fp32": per.get("fp32", {}).get("tokens_per_s"),
                           CPU_DEFAULT: per.get(CPU_DEFAULT, {}).get("tokens_per_s")}
    if fp32_preds:
        out["quantized_match_rate"] = sum(a == b for a, b in zip(default_preds[:n_agree], fp32_preds, strict=False)) \
            / len(fp32_preds)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(f"model: vqa {out['vqa_accuracy']:.3f} (without the layout line {out['vqa_accuracy_without_layout']:.3f})"
          f" | warm load {out['load_s_warm']:.1f}s cold {out['load_s_cold']:.1f}s"
          f" | answer p50 {out['answer_s_p50']:.2f}s | tok/s fp32 {out['tokens_per_s']['fp32'] or 0:.1f}"
          f" {CPU_DEFAULT} {out['tokens_per_s'][CPU_DEFAULT] or 0:.1f} | match {out.get('quantized_match_rate', 0):.2f}"
          f" | rss {out['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
