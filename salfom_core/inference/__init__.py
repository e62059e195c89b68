"""Inference: the sliding-window engine, the order frames are computed in, the on-disk prediction
store and blends between computed frames, devices, sharding over processes, the model cache."""
