"""Speech quality metrics: non-intrusive DNSMOS P.835, and PESQ-WB / STOI / SI-SDR / LSD
against a clean reference.

Everything runs offline: DNSMOS uses the ONNX models shipped inside the ``speechmos`` package.

Example::

    from notsofar.metrics import dnsmos, reference_metrics
    dnsmos(y, 16000)                  # {'sig': ..., 'bak': ..., 'ovrl': ..., 'p808': ...}
    reference_metrics(y, clean, 16000)  # {'pesq_wb': ..., 'stoi': ..., 'si_sdr': ..., 'lsd': ...}
"""

from __future__ import annotations

from notsofar.metrics.dnsmos import dnsmos
from notsofar.metrics.reference import align, lsd, pesq_wb, reference_metrics, si_sdr, stoi

__all__ = ["align", "dnsmos", "lsd", "pesq_wb", "reference_metrics", "si_sdr", "stoi"]
