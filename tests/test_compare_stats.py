"""Comparisons a researcher can trust, the pure parts: intervals and paired tests against scipy on fixed numbers, the
verdict sentence, the table and its warnings, the saved result, and the baselines' tuning (grid edges, the SVM)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_digits

from workbench.errors import WorkbenchError
from workbench.evaluate.comparison import Comparison, build, sentence, shown_table
from workbench.evaluate.paired import WILCOXON_FROM, paired_difference, t_interval
from workbench.train.baselines import PIXELS, PROBE, SVM, rbf_svm, widened_search
from workbench.train.config import RunConfig

# five seeds' test accuracy of two methods on the same test images
FT = np.array([0.851, 0.872, 0.866, 0.880, 0.858])
FE = np.array([0.812, 0.845, 0.829, 0.851, 0.820])


def test_t_interval_is_scipys():
    ci = t_interval(FT)
    low, high = stats.t.interval(0.95, len(FT) - 1, loc=FT.mean(), scale=stats.sem(FT))
    assert (ci.mean, ci.n) == (pytest.approx(FT.mean()), 5)
    assert (ci.low, ci.high) == (pytest.approx(low), pytest.approx(high))
    one_sample = stats.ttest_1samp(FT, 0).confidence_interval(0.95)  # the same interval by another scipy path
    assert (ci.low, ci.high) == (pytest.approx(one_sample.low), pytest.approx(one_sample.high))
    assert t_interval(FT, 0.99).high > ci.high


def test_t_interval_of_one_value_has_no_interval_and_nans_are_dropped():
    assert not t_interval([0.8]).has_interval and t_interval([0.8]).mean == 0.8
    assert t_interval([0.8, math.nan, 0.9]).n == 2
    same = t_interval([0.8, 0.8, 0.8])
    assert same.low == same.high == same.mean == pytest.approx(0.8)
    with pytest.raises(WorkbenchError, match="one value per seed"):
        t_interval([[0.8, 0.9]])


def test_paired_difference_is_scipys_paired_t_test():
    d = paired_difference(FT, FE)
    ref = stats.ttest_rel(FT, FE)
    ci = ref.confidence_interval(0.95)
    assert d.mean == pytest.approx((FT - FE).mean()) and d.n == 5
    assert (d.low, d.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert d.p_t == pytest.approx(ref.pvalue)
    assert d.p_wilcoxon is None  # 5 pairs: the signed-rank test cannot reach p < 0.05 yet
    assert d.excludes_zero


def test_wilcoxon_from_six_seeds_is_scipys():
    a, b = np.r_[FT, 0.869], np.r_[FE, 0.871]
    assert WILCOXON_FROM == 6
    d = paired_difference(a, b)
    assert d.p_wilcoxon == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert d.p_t == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_paired_difference_without_spread_or_with_unequal_lengths():
    same = paired_difference(FT, FT)
    assert same.mean == 0 and not same.spread and math.isnan(same.p_t)
    shifted = paired_difference([0.5, 0.6], [0.8, 0.9])  # -0.3 both times, up to the last bit
    assert not shifted.spread and shifted.low == shifted.high and math.isnan(shifted.p_t)
    with pytest.raises(WorkbenchError, match="one b for each a"):
        paired_difference(FT, FE[:4])
    assert paired_difference([0.8, math.nan, 0.9], [0.7, 0.7, 0.7]).n == 2  # a pair with a NaN is left out


def test_verdict_for_a_clear_difference_and_for_none():
    clear = sentence("fine-tuning", "feature extraction", "accuracy", paired_difference(FT, FE))
    t = stats.ttest_rel(FT, FE)
    ci = t.confidence_interval(0.95)
    p = "< 0.001" if t.pvalue < 0.001 else f"= {t.pvalue:.3f}"  # never "p = < 0.001"
    assert clear == (f"Fine-tuning beats feature extraction by {100 * (FT - FE).mean():.1f} pp test accuracy "
                     f"(95% CI {100 * ci.low:.1f} pp to {100 * ci.high:.1f} pp, paired over 5 seeds, paired t p {p}).")
    flipped = sentence("feature extraction", "fine-tuning", "accuracy", paired_difference(FE, FT))
    assert flipped.startswith("Fine-tuning beats feature extraction by 3.4 pp")  # the winner first, either way round
    noise = FE + np.array([0.01, -0.012, 0.004, -0.003, 0.002])
    none = sentence("fine-tuning", "feature extraction", "accuracy", paired_difference(noise, FE))
    assert none.startswith("No evidence of a difference between fine-tuning and feature extraction in test accuracy")
    assert "paired over 5 seeds" in none
    eer = sentence("a", "b", "eer", paired_difference([0.10, 0.11, 0.09], [0.15, 0.17, 0.16]))
    assert eer.startswith("A beats b with 6.0 pp lower test EER")  # lower is better for an error rate
    single = sentence("a", "b", "accuracy", paired_difference([0.9], [0.8]))
    assert "no interval, so no verdict" in single


def _rows(seeds=(0, 1, 2), split_seeds=None) -> pd.DataFrame:
    """Per-seed rows as runs and baselines leave them: two methods, three baselines, on each seed's split."""
    rows = []
    split_seeds = split_seeds or [0] * len(seeds)
    for i, (seed, split) in enumerate(zip(seeds, split_seeds)):
        common = {"seed": seed, "split_seed": split, "test_images": f"split{split}", "input_size": 28}
        for method, acc, epochs, backbone in (("finetune", FT[i], 5, "b"), ("feature_extract", FE[i], 5, "b"),
                                              (PIXELS, 0.80, None, ""), (PROBE, 0.70 + i / 100, None, "b"),
                                              (SVM, 0.90, None, "")):
            rows.append({"run": f"r{seed}", "method": method, "backbone": backbone, "weights": "offline" if backbone
                         else "", "epochs": epochs, **common, "test_accuracy": acc, "test_f1": acc - 0.01,
                         "test_roc_auc": 0.95, "test_eer": 0.1, "test_loss": 0.4, "val_accuracy": acc + 0.01,
                         "val_loss": 0.41})
    return pd.DataFrame(rows)


def test_table_has_recipe_intervals_and_every_pair():
    cmp = build(_rows(), name="c")
    assert cmp.design.kind == "paired" and cmp.design.seeds == [0, 1, 2] and cmp.warnings == []
    table = cmp.shown_table().set_index("method")
    assert list(table.index) == ["feature_extract", "finetune", PIXELS, PROBE, SVM]  # methods, then baselines
    assert list(table.columns[:5]) == ["backbone", "weights", "input size", "epochs", "seeds"]
    ci = stats.t.interval(0.95, 2, loc=FT[:3].mean(), scale=stats.sem(FT[:3]))
    assert table.loc["finetune", "test accuracy"] == f"{FT[:3].mean():.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    assert table.loc[SVM, "backbone"] == "-" and table.loc["finetune", "epochs"] == 5
    acc = cmp.shown_pairs()
    assert len(acc) == 1 + 2 * 3  # method vs method, each method vs each baseline
    assert cmp.verdict.startswith("Fine-tuning beats feature extraction by 3.4 pp test accuracy (95% CI ")
    # the SVM beats both methods on every seed: the set-up is weak, and the verdict against the baselines says so
    assert cmp.baseline_verdict.startswith("RBF SVM on pixels beats fine-tuning by")
    assert "the set-up is weak" in cmp.baseline_verdict
    assert "Paired design" in cmp.text() and "RBF SVM on pixels" in cmp.text()


def test_fewer_than_three_seeds_warn_and_one_seed_gives_no_verdict():
    two = build(_rows(seeds=(0, 1)))
    assert two.warnings[0].startswith("Only 2 seeds: intervals over 2 seeds are very wide")
    one = build(_rows(seeds=(0,)))
    assert one.warnings[0].startswith("Only 1 seed: no interval and no verdict")
    assert "no interval, so no verdict" in one.verdict
    assert one.shown_table().set_index("method").loc["finetune", "test accuracy"] == f"{FT[0]:.3f}"


def test_repeated_hold_out_is_named_and_pairs_only_runs_on_the_same_images():
    cmp = build(_rows(split_seeds=[0, 1, 2]))
    assert cmp.design.kind == "repeated hold-out" and "a new split for each seed" in cmp.design.describe()
    assert "paired within 3 splits" in cmp.verdict
    rows = _rows()
    rows.loc[(rows.seed == 1) & (rows.method == SVM), "test_images"] = "other"  # the dataset changed in between
    changed = build(rows)
    assert any("tested on different images for seed 1" in w for w in changed.warnings)
    svm_pairs = [p for p in changed.pairs if p.b.startswith("RBF") and p.metric == "accuracy"]
    assert {p.n for p in svm_pairs} == {2}


def test_a_recipe_trained_twice_on_one_seed_counts_once():
    """A run started alone and a comparison's run of the same recipe and seed: one measurement, the last run's (the
    table's interval was over 3 runs while it said "2 seeds", narrower than the pairs')."""
    rows = _rows(seeds=(0, 1))
    again = rows[(rows.seed == 0) & (rows.method == "finetune")].assign(run="alone", test_accuracy=FT[0] + 0.05)
    cmp = build(pd.concat([again, rows], ignore_index=True))
    ci = stats.t.interval(0.95, 1, loc=FT[:2].mean(), scale=stats.sem(FT[:2]))
    table = cmp.shown_table().set_index("method")
    assert table.loc["finetune", "test accuracy"] == f"{FT[:2].mean():.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    assert table.loc["finetune", "seeds"] == 2
    assert any(w.startswith("fine-tuning was trained more than once on seed 0 (split seed 0): only its last run "
                            "counts (left out: alone)") for w in cmp.warnings), cmp.warnings


def test_an_empty_table_still_names_its_columns():
    assert list(shown_table([]).columns) == ["method", "backbone", "weights", "input size", "epochs", "seeds",
                                             "test accuracy", "test F1 (macro)", "test ROC AUC", "test EER",
                                             "val accuracy", "val log loss"]


def test_comparison_round_trips_through_its_file(tmp_path):
    cmp = build(_rows(), name="c", notes=["a note"])
    cmp.save(tmp_path)
    back = Comparison.load(tmp_path)
    assert back == Comparison.from_dict(cmp.to_dict())
    assert back.verdict == cmp.verdict and back.design == cmp.design and back.pairs[0].sentence == cmp.pairs[0].sentence
    assert back.shown_table().equals(cmp.shown_table())


def test_split_seed_is_recorded_and_old_configs_mean_the_seed():
    assert RunConfig("d", seed=4).split_seed == 4
    assert RunConfig("d", seed=4, split_seed=0).split_seed == 0
    old = {"dataset": "d", "seed": 3, "name": "old"}  # a config.json written before split seeds
    assert RunConfig.from_dict(old).split_seed == 3
    with pytest.raises(WorkbenchError, match="Split seed 'x' is not a whole number"):
        from workbench.train.config import config_from
        config_from({"dataset": "d", "split_seed": "x"})


def test_a_grid_edge_widens_the_grid_then_is_reported():
    tried = []

    def fit(grids):  # the best value is always the largest tried
        tried.append(list(grids["C"]))
        return None, {"C": max(grids["C"])}

    _, best, notes = widened_search(fit, {"C": [0.1, 1.0, 10.0]})
    assert tried[-1] == [0.1, 1.0, 10.0, 100.0, 1000.0] and best == {"C": 1000.0}
    assert notes == ["C = 1000 is at the top of its grid even after widening it to 0.1 to 1000: the best value may "
                     "lie beyond"]
    inside = widened_search(lambda g: (None, {"C": 1.0}), {"C": [0.1, 1.0, 10.0]})
    assert inside[2] == []


def test_rbf_svm_tunes_on_train_and_says_when_it_subsamples():
    d = load_digits()
    pick = np.random.default_rng(0).permutation(len(d.target))[:600]
    x, y = d.images[pick], d.target[pick]
    svm = rbf_svm(x[:400], y[:400], 10, max_train=300)
    assert svm.method == SVM and svm.params["train_images"] == 300
    assert svm.notes[0].startswith("fitted on a stratified subsample of 300 of 400 train images")
    assert svm.metrics(x[400:], y[400:])["accuracy"] > 0.9
    assert svm.probs(x[400:]).shape == (200, 10)


def test_recipes_differing_by_a_missing_setting_are_named_apart():
    """An old run without a setting beside a new one: the method's recipes are still named (a NaN made it raise)."""
    import pandas as pd

    from workbench.evaluate.comparison import _group_labels

    rows = pd.DataFrame({"method": ["finetune", "finetune"], "backbone": ["x", "x"], "weights": ["offline", None],
                         "input_size": [28, 28], "epochs": [2, 2]})
    names = _group_labels(rows).tolist()
    assert len(set(names)) == 2 and names[1].endswith("(-)")
