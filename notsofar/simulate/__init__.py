"""Simulation: synthetic meetings (espeak-ng voices, image-method rooms, diffuse noise) and
NOTSOFAR-style training mixtures (``notsofar simulate``).

Building blocks: :mod:`.voices` (espeak-ng), :mod:`.rooms` (RIRs), :mod:`.noise` (diffuse
multichannel noise), :mod:`.convolve` (batched FFT convolution), :mod:`.meeting` (layout,
rendering, reference), :mod:`.synthetic` (whole espeak meetings).
"""
