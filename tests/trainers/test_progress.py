"""progress_bar: silent when disabled, shows metrics when enabled."""

from __future__ import annotations

from rlkit.trainers.progress import progress_bar


def test_disabled_bar_prints_nothing(capsys):
    with progress_bar(10, "train", enabled=False) as bar:
        bar.update(3, {"loss": 0.5})
    assert capsys.readouterr().err == ""


def test_enabled_bar_shows_count_and_metrics(capsys):
    with progress_bar(10, "train", enabled=True, initial=2) as bar:
        bar.update(3, {"loss": 0.123456, "episodes": 4})
    err = capsys.readouterr().err
    assert "train" in err and "5/10" in err and "loss=0.1235" in err and "episodes=4" in err


def test_default_is_off_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert progress_bar(5).enabled is False
