"""Per-video scores through the on-disk cache; SalFoM's maps read from the prediction cache."""
import numpy as np
import torch

from salfom_core import create_model
from salfom_core.evaluation import metrics
from salfom_core.evaluation.dataset_scores import CachedPredictions, DatasetScoring
from salfom_core.evaluation.scoring import score_models
from salfom_core.evaluation.sources import CenterBiasMaps
from salfom_core.evaluation.truths import dataset_truths
from salfom_core.inference.engine import EngineSettings, SalFoMPredictor, predict_video
from salfom_core.inference.store import PredictionStore
from salfom_core.io.synthetic import write_dataset
from salfom_core.io.video import open_video
from salfom_core.models.checkpoint import save_checkpoint


def test_cached_predictions_score_what_the_cache_holds_and_scores_are_cached(tmp_path):
    root = write_dataset(tmp_path / "d", "dhf1k", {"val": 1})
    video = root / "val" / "0001"
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt"
    save_checkpoint(checkpoint, create_model("salfom_tiny"))
    cache = tmp_path / "cache"
    # the app or `salfom predict` computed part of the video, then was stopped
    predictor = SalFoMPredictor.from_checkpoint(checkpoint, "cpu", "float32")
    with open_video(video) as source:
        store = PredictionStore.open(cache, source.content_key(), predictor.key, EngineSettings().cache_fields(),
                                     len(source), source.info.height, source.info.width)
        predict_video(source, predictor, store, EngineSettings(batch_size=4), cancel=lambda: True)
    done = np.flatnonzero(store.done).tolist()
    assert 0 < len(done) < 40

    truths = dataset_truths(root)
    model = CachedPredictions(checkpoint, cache_root=cache)
    scoring = DatasetScoring(truths, [model, CenterBiasMaps()], cache=tmp_path / "scores")
    assert scoring.load_cached() == 0
    result = scoring.score(truths[0])
    salfom = result["SalFoM"]
    assert salfom.frames == done and salfom.skipped == {"no prediction": [i for i in range(40) if i not in done]}
    k = done[0]
    gt = truths[0].gt_map(k)
    assert salfom.values[0]["cc"] == metrics.cc(store.read(k), gt)          # the cached map, scored as is
    assert result["center-bias"].frames == list(range(40))
    # the same numbers as the command line's path, and from the score cache the next time
    direct = score_models(truths, [model, CenterBiasMaps()])
    assert direct[0].videos[0].values == salfom.values
    again = DatasetScoring(truths, [CachedPredictions(checkpoint, cache_root=cache), CenterBiasMaps()],
                           cache=tmp_path / "scores")
    assert again.load_cached() == 2 and again.complete()
    assert [v.values for v in again.model_scores()[0].videos] == [salfom.values]
    # more frames in the prediction cache: a new score-cache entry, never the stale one
    with open_video(video) as source:
        store = PredictionStore.open(cache, source.content_key(), predictor.key, EngineSettings().cache_fields(),
                                     len(source), source.info.height, source.info.width)
        predict_video(source, predictor, store, EngineSettings(batch_size=4), cancel=lambda: True)
    fresh = DatasetScoring(truths, [CachedPredictions(checkpoint, cache_root=cache), CenterBiasMaps()],
                           cache=tmp_path / "scores")
    assert fresh.load_cached() == 1 and not fresh.complete()
