"""``python -m notsofar.simulate.extract SHARD.tar ID [COLUMN [SAMPLE_RATE]]``: one column of one
example as a float WAV on stdout. The manifest's lhotse ``command`` audio sources call this."""

from __future__ import annotations

import io
import sys


def main(argv: list[str]) -> int:
    import soundfile as sf

    from notsofar.simulate.css_format import iter_shard

    if len(argv) not in (2, 3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    shard, ex_id = argv[0], argv[1]
    column = argv[2] if len(argv) >= 3 else "mixture"
    sample_rate = int(argv[3]) if len(argv) == 4 else 16000
    for i, cols, _ in iter_shard(shard):
        if i == ex_id:
            a = cols[column]
            buf = io.BytesIO()
            sf.write(buf, a.reshape(a.shape[0], -1), sample_rate, format="WAV", subtype="FLOAT")
            sys.stdout.buffer.write(buf.getvalue())
            return 0
    print(f"{shard}: no example {ex_id}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
