#!/usr/bin/env python
"""The multi-channel path's diarization alone (no separation, no ASR), with spatial variants.

    python benchmarks/bench_mc_diarize.py --set tune \\
        --variant "" "bin_snr_db=null,split=false,split_min_separation_deg=45,split_min_share=0.2"

For every far-field meeting (``--condition``) with a 7-channel file
(``benchmarks/make_real_meetings.py``): the channels through the front end's WPE
(``configs/enhance/default.yaml``), our diarizer on the dereverberated reference channel, then
:func:`notsofar.enhance.spatial.spatial_diarize` once per ``--variant`` (``KEY=VALUE`` of
``enhance.spatial``, comma-separated; ``""`` is the default).
The single-channel path's diarization of the same meeting (``notsofar diarize`` on its mono
file) is the baseline column. DER with pyannote ``collar=0.5``, overlap scored, per meeting and
their mean (as ``bench_diarize_real.py``'s multi-channel table), and the speaker counts.

``--doa`` also reports how well directions come out: SRP-PHAT over the reference turns' 1-s
windows in which nobody else talks, and per talker the share of that time within 15 degrees of
the talker's main direction (mean over talkers), for each ``bin_snr_db`` among the variants.

``--espeak DIR`` takes the espeak-ng meetings of ``benchmarks/make_meetings.py`` instead
(``DIR/<name>/mc.flac``, ``sc.wav``, ``ref.rttm``): a regression check, not evidence.

The dereverberated audio is cached in ``--cache`` as the path holds it (float32: a float16 copy
moved a meeting's DER by 0.1 point), so reruns skip WPE and read the same. ``--wpe KEY=VALUE,...``
changes ``enhance.wpe`` (e.g. ``stats_stride=3``); its audio is cached in a folder of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_diarize_real as bdr  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def parse_variant(text: str, base: Any) -> Any:
    """A config of ``base``'s type (``SpatialConfig``, ``WPEConfig``) from ``base`` and
    ``"key=value,..."`` (values read and checked as ``--set`` reads them).

    >>> from notsofar.enhance.config import SpatialConfig
    >>> v = parse_variant("split=false,bin_snr_db=null", SpatialConfig())
    >>> v.split, v.bin_snr_db
    (False, None)
    """
    from notsofar.config import load_config

    return load_config(type(base), None, filter(None, text.split(",")), base=base)


def espeak_meetings(folder: Path) -> list[Any]:
    """The espeak-ng meetings of ``make_meetings.py`` as far-field recordings."""
    from notsofar import io
    from notsofar.audio import info

    recs = []
    for d in sorted(p for p in folder.iterdir() if (p / "mc.flac").exists()):
        ref = io.read(d / "ref.rttm").with_session_id(d.name)
        end = info(d / "sc.wav").duration_s
        mc = d / "mc.flac"
        recs.append(bdr.Recording(d.name, "espeak", d / "sc.wav", ref, 0.0, end, mc, False, "far"))
    return recs


def dereverberated(rec: Any, cfg: Any, cache: Path) -> tuple[np.ndarray, Any, int]:
    """``[C, T]`` WPE output of ``rec``'s 7-channel file (cached), its geometry, reference."""
    from notsofar.enhance import prepare_array
    from notsofar.enhance.channels import read_multichannel
    from notsofar.enhance.wpe import dereverberate

    prep = prepare_array(read_multichannel([rec.audio_7ch]), 16000, cfg, rec.name)
    path = cache / f"{rec.name}.wpe.npy"
    if path.exists():
        return np.load(path), prep.geometry, prep.reference
    x = dereverberate(prep.audio, 16000, cfg.wpe, cfg.stft, inplace=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x, prep.geometry, prep.reference


def doa_consistency(x: np.ndarray, geometry: Any, rec: Any, cfg: Any) -> list[float]:
    """Per reference talker: the share of their clean windows' time within 15 degrees of
    their main direction."""
    from notsofar.enhance.doa import angular_distance
    from notsofar.enhance.spatial import direction_modes, window_doas

    segments = list(rec.ref)
    wins = window_doas(x, 16000, rec.ref, geometry, cfg)
    out = []
    for spk in sorted({s.speaker for s in segments}):
        mine = [w for w in wins if segments[w.segment].speaker == spk and not w.overlapped]
        if not mine:
            continue
        az = np.array([w.azimuth_deg for w in mine])
        dur = np.array([w.end_time - w.start_time for w in mine])
        main = direction_modes(az, dur, 45.0, 0.2, 4.0)[0]
        out.append(float(dur[angular_distance(az, main) <= 15.0].sum() / dur.sum()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=bdr.DEFAULT_DATA)
    p.add_argument("--set", dest="which", default="tune")
    p.add_argument("--variant", nargs="*", default=[""], help="spatial KEY=VALUE,... each")
    p.add_argument("--cache", type=Path, default=REPO / "bench_out" / "mc_diarize")
    p.add_argument("--doa", action="store_true", help="also report direction consistency")
    p.add_argument("--condition", default="far", help="far (default), near or all")
    p.add_argument("--espeak", type=Path, default=None, help="make_meetings.py's meetings")
    p.add_argument(
        "--wpe", default="", help="enhance.wpe KEY=VALUE,... (cached apart from the default)"
    )
    p.add_argument(
        "--diarize",
        nargs="*",
        default=[],
        help="diarize KEY=VALUE,... each: more columns, the voice diarizer (on the reference "
        "channel, then the default spatial step) and the single-channel path with these",
    )
    args = p.parse_args()

    from notsofar.config import load_config
    from notsofar.diarize import diarize_source
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.enhance.config import EnhanceConfig
    from notsofar.enhance.spatial import spatial_diarize
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import ArraySource, FileSource

    found = (
        espeak_meetings(args.espeak) if args.espeak else bdr.load_meetings(args.data, args.which)
    )
    recs = [r for r in found if args.condition in ("all", r.condition) and r.audio_7ch is not None]
    if args.espeak:
        args.which = "espeak"
    if not recs:
        raise SystemExit(f"error: {args.data}/{args.which}: no {args.condition} 7-channel meetings")
    ecfg = load_config(EnhanceConfig, REPO / "configs" / "enhance" / "default.yaml")
    dcfg = load_config(DiarizeConfig, REPO / "configs" / "diarize" / "default.yaml")
    variants = [(v or "default", parse_variant(v, ecfg.spatial)) for v in args.variant]
    cache = args.cache / args.which
    if args.wpe:
        ecfg = dataclasses.replace(ecfg, wpe=parse_variant(args.wpe, ecfg.wpe))
        cache = cache / ("wpe_" + args.wpe.replace("=", "-").replace(",", "_"))
    models = ModelCache("cpu")
    sc: dict[str, Any] = {}
    hyps: dict[str, dict[str, Any]] = {name: {} for name, _ in variants}
    consistency: dict[Any, list[float]] = {}
    t0 = time.perf_counter()
    others = [(f"diarize {d}", parse_variant(d, dcfg)) for d in args.diarize]
    for name, _ in others:
        hyps[name], hyps[f"single-channel, {name}"] = {}, {}
    for r in recs:
        sc[r.name] = diarize_source(FileSource(r.audio, 0, r.name), dcfg, models)
        x, geometry, ref = dereverberated(r, ecfg, cache)
        reference = np.ascontiguousarray(x[ref])
        voice = diarize_source(ArraySource(reference, r.name), dcfg, models)
        for name, cfg in variants:
            hyps[name][r.name] = spatial_diarize(x, 16000, voice, geometry, cfg)[0]
        for name, d in others:
            one = ArraySource(reference, r.name)
            hyps[name][r.name] = spatial_diarize(
                x, 16000, diarize_source(one, d, models), geometry, ecfg.spatial
            )[0]
            mono = FileSource(r.audio, 0, r.name)
            hyps[f"single-channel, {name}"][r.name] = diarize_source(mono, d, models)
        if args.doa:
            for snr in {cfg.bin_snr_db for _, cfg in variants}:
                cfg = dataclasses.replace(ecfg.spatial, bin_snr_db=snr)
                consistency.setdefault(snr, []).extend(doa_consistency(x, geometry, r, cfg))
        print(f"{r.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    columns = [("single-channel", sc)] + [(name, hyps[name]) for name in hyps]
    scores = [bdr.diarization_scores(recs, h, 0.5) for _, h in columns]
    print(f"**{args.which}: {len(recs)} {args.condition} meetings, DER c0.5 % (speakers found)**\n")
    print("| meeting | ref | " + " | ".join(f"`{n}`" for n, _ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for r in recs:
        cells = [
            f"{100 * (per[r.name] or 0.0):.1f} ({bdr.speaker_count(h[r.name], r.start_s, r.end_s)})"
            for (per, _, _), (_, h) in zip(scores, columns, strict=True)
        ]
        nref = bdr.speaker_count(r.ref, r.start_s, r.end_s)
        print(f"| {r.name} | {nref} | " + " | ".join(cells) + " |")
    means = []
    for (_, mean, _), (_, h) in zip(scores, columns, strict=True):
        exact, n, worst = bdr.count_errors(recs, h)
        means.append(f"**{100 * (mean or 0.0):.2f}** ({exact}/{n} exact, worst {worst} off)")
    print("| **mean** | | " + " | ".join(means) + " |")
    for snr, shares in sorted(consistency.items(), key=lambda kv: (kv[0] is not None, kv[0])):
        low = sum(s < 0.5 for s in shares)
        print(
            f"\nbin_snr_db {snr}: a talker's clean windows within 15 degrees of their direction, "
            f"mean {np.mean(shares):.3f} over {len(shares)} talkers, {low} under half"
        )
    print(
        f"\n{time.perf_counter() - t0:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


if __name__ == "__main__":
    main()
