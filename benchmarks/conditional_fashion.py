"""A small conditional DCGAN on Fashion-MNIST at 32x32: does it draw the class it is asked for?

One run of ``dcgan_lib.ConditionalTrainer`` (``ConditionalGenerator`` fed cat(z, embed(y)),
``ProjectionDiscriminator`` of Miyato & Koyama 2018) with the DCGAN paper's Adam settings,
then, with the shipped classifier-fashion32:

* ``class_agreement``: per class, the fraction of samples asked for class c that the
  classifier puts in c; beside it the classifier's own accuracy on the real test images of
  c, the most a perfect generator could score (the classifier errs on real images too);
* ``per_class_fid``: FID of each class's samples against that class's test images, in the
  classifier's 128-d features, and of all samples against the whole test split;
* ``evaluate``: FID, precision and recall of ``G(z)`` (the classes in turn), the numbers the
  other Fashion-MNIST benchmarks report.

One run, one seed: its numbers describe this run, not the spread over seeds. The run's
checkpoint goes to ``--out``; ``--export`` writes the generator-only, float16 copy the book
ships (``python -m dcgan_lib export``) and records it in its folder's manifest.json.

    nice -n 10 python benchmarks/conditional_fashion.py --steps 2000 \
        --json benchmarks/results/conditional_fashion.json \
        --export checkpoints/conditional_fashion32.pt

Not run by the tests.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import torch
from run_record import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    ConditionalGenerator,
    ConditionalTrainer,
    ProjectionDiscriminator,
    TrainConfig,
    class_agreement,
    evaluate,
    feature_extractor,
    hardware,
    load_dataset,
    per_class_fid,
)
from dcgan_lib.checkpoint import manifest_entry, record_in_manifest  # noqa: E402
from dcgan_lib.cli import main as cli  # noqa: E402


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--steps", type=int, default=2000, help="generator steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=32, help="ngf = ndf of the pair")
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="training images to load (all)")
    p.add_argument("--n-per-class", type=int, default=500, help="samples per class scored")
    p.add_argument("--n", type=int, default=2000, help="samples (and test images) for evaluate")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", type=Path, default=Path("runs/conditional_fashion32/checkpoint.pt"))
    p.add_argument("--json", type=Path, help="write the scores and the run's record here")
    p.add_argument("--export", type=Path, help="write the shipped generator-only copy here")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])])
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", 32, limit=args.limit)
    test = load_dataset("fashion-mnist", 32, "test")
    k = len(data.class_names)
    torch.manual_seed(args.seed)
    G = ConditionalGenerator(args.latent_dim, 32, 1, args.width, k)
    D = ProjectionDiscriminator(32, 1, args.width, k)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        seed=args.seed,
        device="cpu",
        sample_every=max(1, args.steps // 4),
        progress=False,
    )
    trainer = ConditionalTrainer(G, D, data, config)
    history = trainer.fit()
    meta = dict(
        dataset="fashion-mnist",
        data_source=data.source,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        hardware=hardware("cpu"),
        torch=str(torch.__version__),  # a TorchVersion is no plain str: weights_only refuses it
        command=command,
    )
    trainer.save(args.out, **meta, wall_time_s=trainer.elapsed)
    train_s = trainer.elapsed
    print(f"trained {args.steps} steps in {train_s:.0f} s; wrote {args.out}", flush=True)

    G.eval()
    classifier = feature_extractor("classifier-fashion32", "cpu")
    agreement = class_agreement(G, classifier, args.n_per_class, seed=1)
    real_hit = (classifier.predict(test.x) == test.y).float()
    ceiling = [float(real_hit[test.y == c].mean()) for c in range(k)]
    fid = per_class_fid(G, test, classifier, args.n_per_class, seed=1)
    scores = evaluate(G, "fashion-mnist", n=args.n, extractor=classifier, seed=0, n_train=0)
    rows = [
        {
            "class": c,
            "name": data.class_names[c],
            "agreement": agreement["per_class"][c],
            "classifier_accuracy_real": ceiling[c],
            "fid": fid["per_class"][c],
        }
        for c in range(k)
    ]
    print(f"{'class':>12} {'agreement':>9} {'real acc':>8} {'FID':>7}")
    for r in rows:
        print(
            f"{r['name']:>12} {r['agreement']:9.3f} {r['classifier_accuracy_real']:8.3f} "
            f"{r['fid']:7.2f}"
        )
    print(
        f"overall agreement {agreement['overall']:.3f} (classifier on real test images "
        f"{float(real_hit.mean()):.3f}); per-class FID mean {fid['mean']:.2f}; "
        f"FID of all samples {fid['overall']:.2f}; evaluate: FID {scores['fid']:.2f} "
        f"precision {scores['precision']:.3f} recall {scores['recall']:.3f}",
        flush=True,
    )
    export_command = None
    if args.export:
        export_args = ["export", "--checkpoint", str(args.out), "--out", str(args.export)]
        export_args += ["--generator-only", "--half", "--overwrite"]
        cli(export_args)
        export_command = "python -m dcgan_lib " + " ".join(export_args)
        entry = manifest_entry(
            args.export,
            [command, export_command],
            note="a conditional DCGAN (ConditionalGenerator, ProjectionDiscriminator); wall "
            "time measured on a shared machine: an upper bound, not a speed measurement",
            class_agreement=round(agreement["overall"], 4),
        )
        record_in_manifest(args.export, entry)
    if args.json:
        record = {
            "command": command,
            "export_command": export_command,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "hardware": hardware("cpu"),
            "torch": str(torch.__version__),
            "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "train_time_s": round(train_s, 1),
            "wall_time_s": round(time.perf_counter() - start, 1),
            "note": "one run, one seed; wall times on a shared 2-core CPU are upper bounds",
            "classifier": classifier.name,
            "n_per_class": args.n_per_class,
            "agreement_overall": agreement["overall"],
            "classifier_accuracy_real": float(real_hit.mean()),
            "fid_per_class_mean": fid["mean"],
            "fid_all_samples": fid["overall"],
            "n_real_per_class": fid["n_real"],
            "evaluate": {m: float(scores[m]) for m in ("fid", "precision", "recall")},
            "evaluate_n": args.n,
            "final_losses": {"loss_d": history.loss_d[-1], "loss_g": history.loss_g[-1]},
            "rows": rows,
        }
        write_json(args.json, record)


if __name__ == "__main__":
    main()
