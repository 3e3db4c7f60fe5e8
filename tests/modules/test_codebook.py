import pytest
import torch

from rlkit.modules.codebook import GoalCodebook

CENTRES = torch.tensor([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [10.0, 10.0, 5.0], [5.0, 5.0, 10.0]])


def _clustered(per_cluster: int = 40, noise: float = 0.3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    noise_ = noise * torch.randn(len(CENTRES), per_cluster, 3, generator=generator)
    points = (CENTRES[:, None] + noise_).reshape(-1, 3)
    labels = torch.arange(len(CENTRES)).repeat_interleave(per_cluster)
    return points, labels


def _matching(codes: torch.Tensor) -> torch.Tensor:
    """For each true centre, the index of its nearest code."""
    return torch.cdist(CENTRES, codes).argmin(1)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_fit_finds_the_clusters_and_assign_recovers_the_partition(metric):
    points, labels = _clustered()
    book = GoalCodebook(3, 5).fit(points, seed=0, metric=metric, real_points=False)
    match = _matching(book.codes)
    assert sorted(match.tolist()) == [0, 1, 2, 3, 4]  # one code per cluster
    if metric == "euclidean":  # cluster means, to within the noise of 40 samples
        torch.testing.assert_close(book.codes[match], CENTRES, atol=0.2, rtol=0)
    # every point is assigned to the code of its own cluster
    assert torch.equal(book.assign(points), match[labels])
    assert book.assign(points.reshape(5, 40, 3)).shape == (5, 40)


def test_euclidean_codes_are_the_exact_cluster_means_without_snapping():
    points, labels = _clustered(noise=0.1)
    book = GoalCodebook(3, 5).fit(points, seed=3, real_points=False)
    match = _matching(book.codes)
    means = torch.stack([points[labels == c].mean(0) for c in range(5)])
    torch.testing.assert_close(book.codes[match], means, atol=1e-4, rtol=0)


def test_real_point_snapping_picks_the_member_nearest_each_mean():
    points, labels = _clustered()
    book = GoalCodebook(3, 5).fit(points, seed=1, real_points=True)
    match = _matching(book.codes)
    std = points.std(0, correction=0)
    for cluster in range(5):
        members = points[labels == cluster]
        dist = (((members - members.mean(0)) / std) ** 2).sum(1)
        torch.testing.assert_close(book.codes[match[cluster]], members[dist.argmin()], atol=1e-5, rtol=0)
    # each code is a row of the data
    assert all(bool((points == code).all(1).any()) for code in book.codes)


def test_standardization_makes_a_large_unit_dimension_not_dominate():
    # dims 0, 1 split the data into 2 groups 1 unit apart; dim 2 is uniform noise over 100 units
    generator = torch.Generator().manual_seed(0)
    side = torch.randint(2, (400,), generator=generator).float()
    small = side[:, None] + 0.01 * torch.randn(400, 2, generator=generator)
    points = torch.cat([small, 100 * torch.rand(400, 1, generator=generator)], 1)
    standardized = GoalCodebook(3, 2).fit(points, seed=0, real_points=False)
    labels = standardized.assign(points).float()
    assert torch.equal(labels, side) or torch.equal(labels, 1 - side)  # split along the small-unit dimensions
    raw = GoalCodebook(3, 2).fit(points, seed=0, standardize=False)
    assert torch.equal(raw.mean, torch.zeros(3)) and torch.equal(raw.std, torch.ones(3))
    assert abs(raw.codes[0, 2] - raw.codes[1, 2]) > 30  # raw k-means splits along the big-unit dimension


def test_fit_is_reproducible_by_seed():
    points, _ = _clustered(noise=3.0)
    a = GoalCodebook(3, 7).fit(points, seed=5).codes
    b = GoalCodebook(3, 7).fit(points, seed=5).codes
    assert torch.equal(a, b)


def test_fit_can_change_the_number_of_codes_and_handles_large_chunked_input():
    points = torch.randn(3000, 3, generator=torch.Generator().manual_seed(0))
    book = GoalCodebook(3, 5, chunk_size=128).fit(points, 12, seed=0, max_iters=20)
    assert book.codes.shape == (12, 3) and book.standardized_codes.shape == (12, 3)
    chunked = book.assign(points)
    dense = torch.cdist(book.standardize(points), book.standardized_codes).argmin(1)
    assert torch.equal(chunked, dense)
    assert torch.bincount(chunked, minlength=12).min() > 0


def test_save_load_round_trip_and_state_dict(tmp_path):
    points, _ = _clustered()
    book = GoalCodebook(3, 5).fit(points, seed=0, metric="cosine")
    path = tmp_path / "sub" / "codebook.pt"
    book.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["codebook.pt"]  # no temporary left behind
    loaded = GoalCodebook.load(path, goal_dim=3)
    assert loaded.metric == "cosine" and loaded.num_codes == 5
    for name in ("codes", "standardized_codes", "mean", "std"):
        assert torch.equal(getattr(loaded, name), getattr(book, name))
    assert torch.equal(loaded.assign(points), book.assign(points))
    other = GoalCodebook(3, 50)  # a state_dict of another K loads and resizes
    other.load_state_dict(book.state_dict())
    assert torch.equal(other.codes, book.codes) and other.metric == "cosine"


def test_errors_name_what_was_expected(tmp_path):
    points, _ = _clustered()
    with pytest.raises(ValueError, match="200 goals for 500 codes"):
        GoalCodebook(3).fit(points, 500)
    with pytest.raises(ValueError, match=r"only 2 distinct points"):
        GoalCodebook(3, 3).fit(torch.tensor([[0.0, 0, 0], [1, 1, 1]]).repeat(10, 1))
    with pytest.raises(ValueError, match=r"shape \(200, 3\); expected \(N, 4\)"):
        GoalCodebook(4).fit(points)
    book = GoalCodebook(3, 5)
    with pytest.raises(RuntimeError, match="not fitted"):
        book.assign(points)
    book.fit(points)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 3\)"):
        book.assign(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="goal row 1 is not finite"):
        book.assign(torch.tensor([[0.0, 0, 0], [float("nan"), 0, 0]]))
    with pytest.raises(ValueError, match="metric='manhattan'"):
        GoalCodebook(3, metric="manhattan")
    book.save(tmp_path / "b.pt")
    with pytest.raises(ValueError, match="goals of dim 3; expected goal_dim=4"):
        GoalCodebook.load(tmp_path / "b.pt", goal_dim=4)
    with pytest.raises(ValueError, match=r"expected \(K, 4\)"):
        GoalCodebook(4).load_state_dict(book.state_dict())
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        GoalCodebook.load(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        GoalCodebook.load(tmp_path / "missing.pt")
