"""The latent space, measured over trained generators: the table of notebooks/10_latent_space.

For the three comparison generators (checkpoints/compare/dcgan_s{1,2,3}.pt: 1,000 steps,
seeds 1-3) and the long run (dcgan_fashion32.pt: 2,000 steps, seed 0), with the
Fashion-MNIST classifier (classifier-fashion32):

* midpoints: image contrast and classifier confidence at the endpoints, the linear and the
  spherical midpoints of ``--pairs`` pairs of independent latents;
* walks: ``--walks`` spherical walks through 5 random key points, 8 steps between each:
  consecutive-frame changes (pixels, features), class changes, nearest training images
  among ``--train`` training images, against the distances of held-out test images;
* vector arithmetic on means of three exemplars (``--trials`` random class pairs);
* forgetting: the ``--k`` feature maps of the second hidden layer most tied to Trouser
  dropped, against ``--draws`` draws of as many random maps.

The chapter loads the JSON this writes and re-runs one row live at smaller sizes:

    python benchmarks/latent_space.py --json benchmarks/results/latent_space.json

Not run by the tests.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import torch
from run_record import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dcgan_lib import (  # noqa: E402
    class_latents,
    concept_arithmetic,
    draw_latent,
    feature_extractor,
    forgetting,
    hardware,
    latent_path,
    load_dataset,
    load_generator,
    midpoint_report,
    nearest_neighbours,
    nearest_training_images,
    pretrained,
    sample_generator,
    walk_report,
)

GENERATORS = {
    "seed 1": "compare/dcgan_s1.pt",
    "seed 2": "compare/dcgan_s2.pt",
    "seed 3": "compare/dcgan_s3.pt",
    "long run (seed 0)": "dcgan_fashion32.pt",
}


def measure(generator, extractor, train_features, args) -> dict:
    row = {}
    z = draw_latent(generator, 2 * args.pairs, rng=torch.Generator().manual_seed(0))
    mid = midpoint_report(generator, extractor, z[: args.pairs], z[args.pairs :])
    for where, values in mid.items():
        row.update({f"{where}_{k}": v for k, v in values.items()})

    walks = []
    for w in range(args.walks):
        keys = draw_latent(generator, 5, rng=torch.Generator().manual_seed(100 + w))
        walks.append(walk_report(generator, latent_path(keys, 8), extractor, None, train_features))
    cat = {k: torch.cat([w[k] for w in walks]) for k in ("pixel_steps", "feature_steps")}
    pairs = sample_generator(generator, 2 * args.pairs, seed=1)
    a, b = pairs[: args.pairs], pairs[args.pairs :]
    row.update(
        pixel_step_median=cat["pixel_steps"].median().item(),
        pixel_step_max=cat["pixel_steps"].max().item(),
        pixel_random_pair_median=(a - b).flatten(1).pow(2).mean(1).sqrt().median().item(),
        feature_step_median=cat["feature_steps"].median().item(),
        feature_step_max=cat["feature_steps"].max().item(),
        feature_random_pair_median=(extractor(a) - extractor(b)).norm(dim=1).median().item(),
        frames_per_walk=len(walks[0]["classes"]),
        class_changes_per_walk=sum(w["class_changes"] for w in walks) / len(walks),
        nearest_changes_per_walk=sum(w["nearest_changes"] for w in walks) / len(walks),
        frame_nn_median=torch.cat([w["nearest_distances"] for w in walks]).median().item(),
        frame_nn_min=min(w["nearest_distances"].min().item() for w in walks),
    )

    z, labels = class_latents(generator, extractor, args.latents, seed=1)
    arith = concept_arithmetic(generator, extractor, z, labels, trials=args.trials)
    row.update({f"arith_{k}": arith[k] for k in ("hit", "random_hit", "source_kept", "mean_hit")})
    row.update({f"{k}_norm": arith[f"{k}_norm"] for k in ("arith", "random", "target_only")})

    forget = forgetting(generator, extractor, 1, args.k, 1, args.n, args.n, args.draws)
    row.update(
        forget_before=forget["before"],
        forget_after=forget["after"],
        forget_random=forget["random"],
        forget_hist_before=forget["hist_before"].tolist(),
        forget_hist_after=forget["hist_after"].tolist(),
    )
    return row


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=1000, help="latent pairs for the midpoints")
    p.add_argument("--walks", type=int, default=5, help="walks per generator")
    p.add_argument("--train", type=int, default=60000, help="training images searched")
    p.add_argument("--latents", type=int, default=2000, help="labelled latents for arithmetic")
    p.add_argument("--trials", type=int, default=300, help="arithmetic trials")
    p.add_argument("--k", type=int, default=8, help="feature maps dropped")
    p.add_argument("--n", type=int, default=2000, help="samples to choose and to test maps")
    p.add_argument("--draws", type=int, default=5, help="random sets of k maps dropped")
    p.add_argument("--json", type=Path, help="write the rows and the run's record here")
    args = p.parse_args(argv)
    start = time.perf_counter()
    extractor = feature_extractor("classifier-fashion32")
    train = load_dataset("fashion-mnist", 32, "train", limit=args.train)
    test = load_dataset("fashion-mnist", 32, "test", limit=1000)
    train_features = extractor(train.x)
    near = nearest_training_images(extractor(test.x), train_features, None, n=len(test.x))
    # each of 1,000 training images against the rest: neighbour 0 is the image itself
    train_nn = nearest_neighbours(train_features[:1000], train_features, k=2)[0][:, 1]
    rows = {}
    for name, path in GENERATORS.items():
        rows[name] = measure(
            load_generator(pretrained(path)).float(), extractor, train_features, args
        )
        print(name, {k: v for k, v in rows[name].items() if not isinstance(v, list)}, flush=True)
    record = {
        "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
        "hardware": hardware("cpu"),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_time_s": round(time.perf_counter() - start, 1),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "extractor": extractor.name,
        "class_names": extractor.class_names,
        "test_nn_median": near["distances"].median().item(),
        "train_nn_median": train_nn.median().item(),
        "n_test": len(test.x),
        "n_train": len(train.x),
        "generators": GENERATORS,
        "rows": rows,
    }
    if args.json:
        write_json(args.json, record)


if __name__ == "__main__":
    main()
