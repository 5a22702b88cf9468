"""Start-up as an operator and a user notice it: the bot loads no model library, every `*_generate` / `*_train
--help` answers without TensorFlow or note-seq, and the models run without scikit-learn, pandas or note-seq, on
one inter-op and one intra-op thread.

Each case is a fresh Python process (what is loaded depends on what was imported first). Figures:
benchmarks/startup.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL_LIBRARIES = ("tensorflow", "keras", "note_seq", "pandas", "sklearn")
THREAD_ENV = ("TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS")
# What a process loaded, printed as its last line of stderr however it ends (argparse's --help exits).
LOADED = "import json, sys; print(json.dumps(sorted(m for m in {mods!r} if m in sys.modules)), file=sys.stderr)"


def python(code: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**clean, **(env or {})})


def loaded(done: subprocess.CompletedProcess) -> list[str]:
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_the_bot_loads_no_model_library() -> None:
    modules = ["bot", "bot.service", "bot.web.app", "bot.adapters.discord_bot", "bot.adapters.slack_bot"]
    code = ("import importlib, pkgutil, bot\n"
            f"for name in {modules!r} + [m.name for m in pkgutil.walk_packages(bot.__path__, 'bot.')]:\n"
            "    if name != 'bot.__main__':\n"
            "        importlib.import_module(name)\n"
            "import bot.__main__\n"  # `python -m bot`'s own module, without running it
            + LOADED.format(mods=MODEL_LIBRARIES))
    done = python(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert loaded(done) == [], f"the bot process loads {loaded(done)}; it should start without model libraries"


def commands() -> list[str]:
    """Every *_generate / *_train command line (tests/test_registry.py checks the registry names exist)."""
    cli = REPO / "generation" / "cli"
    return sorted(p.stem for pattern in ("*_generate.py", "*_train.py") for p in cli.glob(pattern))


@pytest.mark.parametrize("command", commands())
def test_help_answers_without_loading_models(command: str) -> None:
    code = ("import runpy, sys\n"
            f"sys.argv = [{command!r}, '--help']\n"
            "try:\n"
            f"    runpy.run_module('generation.cli.{command}', run_name='__main__')\n"
            "finally:\n"
            "    " + LOADED.format(mods=MODEL_LIBRARIES))
    start = time.perf_counter()
    done = python(code, timeout=60)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: {command}") and "--output_dir" in done.stdout, done.stdout[:500]
    assert loaded(done) == [], f"`{command} --help` loads {loaded(done)}; they belong after argument parsing"
    assert seconds < 5, f"`{command} --help` took {seconds:.1f} s (TensorFlow alone takes 2.5 s or more)"


def test_models_run_without_sklearn_pandas_or_note_seq_on_one_thread() -> None:
    """Each family's chat model loads and generates (as the worker warms up) on lean imports and 1/1 threads.

    Every family with a trained model installed takes part; the shipped four must.
    """
    code = ("import json, sys\n"
            "from generation.families.registry import families\n"
            "from generation.engine.bundle import installed_configs\n"
            "ran = []\n"
            "for plugin in families():\n"
            "    for config in [c for c in (*plugin.warm_configs, *plugin.configs) if c in installed_configs()][:1]:\n"
            "        plugin.warm_up(plugin.load(config))\n"
            "        ran.append(plugin.name)\n"
            "print(json.dumps(ran))\n"
            "from generation.engine.tf_runtime import tf\n"
            "print(tf.config.threading.get_inter_op_parallelism_threads(),"
            " tf.config.threading.get_intra_op_parallelism_threads())\n"
            + LOADED.format(mods=MODEL_LIBRARIES))
    done = python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    ran, pools = done.stdout.splitlines()
    assert {"improv", "polyphony", "pianoroll", "performance"} <= set(json.loads(ran)), ran
    assert loaded(done) == ["keras", "tensorflow"], f"generating ({ran}) loads {loaded(done)}"
    assert pools.split() == ["1", "1"], "inference should run on one inter-op and one intra-op thread"


@pytest.mark.parametrize(("env", "training", "pools"), [
    ({}, True, "0 0"),  # the *_train commands: TensorFlow's default, every core
    ({"TF_NUM_INTRAOP_THREADS": "2"}, False, "0 0"),  # the operator's setting: TensorFlow reads it, we set nothing
])
def test_training_and_the_operator_get_their_thread_pools(env: dict[str, str], training: bool, pools: str) -> None:
    code = ("from generation.engine.tf_runtime import tf, use_training_threads\n"
            "print(use_training_threads(), tf.config.threading.get_inter_op_parallelism_threads(),"
            " tf.config.threading.get_intra_op_parallelism_threads())")
    done = python(code, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(training), *pools.split()]
