"""The suite's guard against tests that write into the source tree."""
import subprocess

from tests.tree_guard import tree_changes, tree_state


def git_repo(path):
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".gitignore").write_text(".hypothesis/\n")
    return path


def test_a_file_a_test_leaves_in_the_tree_is_reported(tmp_path):
    repo = git_repo(tmp_path / "repo")
    before = tree_state(repo)
    (repo / "metadata").mkdir()
    (repo / "metadata" / "_probe.py").write_text("x = 1\n")
    assert tree_changes(before, tree_state(repo)) == ["?? metadata/_probe.py"]


def test_ignored_folders_and_files_there_before_are_not_reported(tmp_path):
    repo = git_repo(tmp_path / "repo")
    (repo / "scratch.txt").write_text("already here\n")
    before = tree_state(repo)
    (repo / ".hypothesis").mkdir()
    (repo / ".hypothesis" / "db").write_text("examples\n")
    assert tree_changes(before, tree_state(repo)) == []


def test_outside_a_git_checkout_nothing_is_reported(tmp_path):
    assert tree_state(tmp_path) is None
    assert tree_changes(None, None) == []
