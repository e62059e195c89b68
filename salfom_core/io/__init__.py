"""Everything on disk: videos, gaze, annotation layouts, paths, files and fingerprints, ground-truth
maps, exports and overlays, atomic writes, synthetic clips. Imports nothing else of salfom_core
but its errors."""
