"""Command-line options of the spectral cache and the dask scheduler."""

from __future__ import annotations

from pathlib import Path

from carta_trio.cli import parse_settings


def _parse(*argv: str, home: Path) -> tuple[object, list[str]]:
    return parse_settings(list(argv), environ={"HOME": str(home)}, system_config_path=None)


def test_defaults_put_the_cache_under_the_user_folder(tmp_path: Path) -> None:
    settings, warnings = _parse("--no_browser", home=tmp_path)
    assert settings.cache_folder == tmp_path / ".carta" / "cache"  # type: ignore[attr-defined]
    assert settings.cache_folder_budget == 20 * 2**30  # type: ignore[attr-defined]
    assert settings.spectral_cache_threshold == 2**30  # type: ignore[attr-defined]
    assert settings.dask_scheduler is None  # type: ignore[attr-defined]
    assert warnings == []


def test_cache_options(tmp_path: Path) -> None:
    settings, _ = _parse("--cache_dir", str(tmp_path / "c"), "--cache_dir_size", "1.5",
                         "--spectral_cache_threshold", "64", "--dask_scheduler", "tcp://127.0.0.1:8786",
                         home=tmp_path)
    assert settings.cache_folder == tmp_path / "c"  # type: ignore[attr-defined]
    assert settings.cache_folder_budget == int(1.5 * 2**30)  # type: ignore[attr-defined]
    assert settings.spectral_cache_threshold == 64 * 2**20  # type: ignore[attr-defined]
    assert settings.dask_scheduler == "tcp://127.0.0.1:8786"  # type: ignore[attr-defined]
    settings, _ = _parse("--no_cache", home=tmp_path)
    assert settings.cache_folder is None  # type: ignore[attr-defined]


def test_a_cache_inside_the_served_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings, warnings = _parse("--base", str(data), "--cache_dir", str(data / "cache"), home=tmp_path)
    assert settings.cache_folder is None  # type: ignore[attr-defined]
    assert any("inside the top-level folder" in w for w in warnings)


def test_the_default_cache_is_kept_when_home_is_served(tmp_path: Path) -> None:
    settings, warnings = _parse("--base", str(tmp_path), home=tmp_path)
    assert settings.cache_folder == tmp_path / ".carta" / "cache"  # type: ignore[attr-defined]
    assert warnings == []


def test_a_zero_threshold_caches_every_cube(tmp_path: Path) -> None:
    settings, _ = _parse("--spectral_cache_threshold", "0", home=tmp_path)
    assert settings.spectral_cache_threshold == 0  # type: ignore[attr-defined]
