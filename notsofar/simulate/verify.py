"""``notsofar simulate --verify DIR``: re-read every shard and check it against the plan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from notsofar.errors import EXIT_PARTIAL, NotsofarError


@dataclass
class VerifyReport:
    """Examples checked, audio seconds, clipped samples and every problem found."""

    shards: int = 0
    examples: int = 0
    seconds: float = 0.0
    clipped_samples: int = 0
    max_residual: float = 0.0
    sums_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.problems else 0


def verify(out_dir: str | Path, clip_fraction: float = 1e-4) -> VerifyReport:
    """Check shards, manifest and plan of a simulation folder.

    Per example: the column lengths equal ``utterances.map``; channel counts match the array;
    at most ``clip_fraction`` of mixture samples at int16 full scale; and
    ``mixture == sum(gt_spk_reverb) + gt_noise`` within the int16 quantization of the three.
    """
    from notsofar.arrays import load_array
    from notsofar.simulate.css_format import iter_shard, read_shard_map
    from notsofar.simulate.engine import MANIFEST, PLAN, SHARD_DIR, shard_name
    from notsofar.simulate.sources import read_manifest

    out = Path(out_dir)
    plan_path = out / PLAN
    if not plan_path.exists():
        raise NotsofarError("not a notsofar simulation folder (no plan.json)", path=out)
    plan = json.loads(plan_path.read_text())
    chans = load_array(plan["config"]["rirs"]["array"]).num_channels
    rep = VerifyReport()
    manifest_ids: list[str] = []
    if (out / MANIFEST).exists():
        manifest_ids = [c["id"] for c in read_manifest(out / MANIFEST)]
    else:
        rep.problems.append(f"{out / MANIFEST}: missing (run not finished?)")
    seen: list[str] = []
    for i in range(plan["num_shards"]):
        path = out / SHARD_DIR / f"{shard_name(i)}.tar"
        want = min(
            plan["examples_per_shard"], plan["num_examples"] - i * plan["examples_per_shard"]
        )
        if not path.exists():
            rep.problems.append(f"{path}: missing")
            continue
        rep.shards += 1
        lengths = read_shard_map(path)
        if len(lengths) != want:
            rep.problems.append(f"{path}: {len(lengths)} examples, plan says {want}")
        for ex_id, cols, _ in iter_shard(path, scaled=False):
            seen.append(ex_id)
            rep.examples += 1
            _check_example(path, ex_id, cols, lengths[ex_id], chans, clip_fraction, rep)
            rep.seconds += lengths[ex_id] / plan["config"]["sample_rate"]
    if manifest_ids and manifest_ids != seen:
        rep.problems.append(
            f"{out / MANIFEST}: lists {len(manifest_ids)} examples, shards hold {len(seen)}"
        )
    return rep


def _check_example(
    path: Path, ex_id: str, cols: dict, n: int, chans: int, clip_fraction: float, rep: VerifyReport
) -> None:
    import tarfile

    where = f"{path}:{ex_id}"
    for name, a in cols.items():
        if a.shape[0] != n:
            rep.problems.append(f"{where}: {name} has {a.shape[0]} samples, map says {n}")
            return
    mix = cols["mixture"]
    if mix.ndim != 2 or mix.shape[1] != chans:
        rep.problems.append(f"{where}: mixture has shape {list(mix.shape)}, expected [T, {chans}]")
        return
    with tarfile.open(path) as tar:
        meta = json.loads(tar.extractfile(f"{ex_id}.json").read())["columns"]  # type: ignore[union-attr]
    s_m = float(meta["mixture_scale"]["values"])
    # clipped = at or above full scale (1.0) once de-scaled: a 16-bit file of it would clip
    clipped = int(np.count_nonzero(np.abs(mix.astype(np.float64)) / s_m >= 1.0))
    rep.clipped_samples += clipped
    if clipped > clip_fraction * mix.size:
        rep.problems.append(f"{where}: {clipped} mixture samples at or above full scale")
    if "gt_spk_reverb" in cols and "gt_noise" in cols:
        s_r = float(meta["gt_spk_reverb_scale"]["values"])
        s_n = float(meta["gt_noise_scale"]["values"])
        rev = cols["gt_spk_reverb"].astype(np.float64) / s_r
        resid = mix / s_m - rev.sum(axis=-1) - cols["gt_noise"] / s_n
        bound = 0.5 / s_m + 0.5 * rev.shape[-1] / s_r + 0.5 / s_n + 1e-6
        worst = float(np.max(np.abs(resid)))
        rep.sums_checked += 1
        rep.max_residual = max(rep.max_residual, worst)
        if worst > bound:
            rep.problems.append(
                f"{where}: mixture != sum of speaker images + noise (max error {worst:.2e} > {bound:.2e})"
            )
