# The two commands of the README. Both install what they need first (apt + .venv), so a fresh machine works.
.PHONY: run demo test install install-dev bench quality

install:
	@bash deploy/install.sh

install-dev:
	@bash deploy/install.sh --dev

# The main job: the bot on its embedded default (local web chat + HTTP API on 127.0.0.1:$TUNESMITH_PORT).
run: install
	.venv/bin/python -m bot

# The lecture's improv command: MIDI + audio into ./out.
demo: install
	.venv/bin/improv_rnn_generate --config=chord_pitches_improv --output_dir=out --num_outputs=5 \
	  --primer_melody="[57]" --backing_chords="Am Dm G7/F C F Bm7b5 Eb E" --render_chords --audio=ogg

test: install-dev
	.venv/bin/ruff check .
	.venv/bin/mypy generation bot benchmarks tests
	.venv/bin/python -m pytest

bench: install
	.venv/bin/python benchmarks/improv_speed.py
	.venv/bin/python benchmarks/polyphony_speed.py
	.venv/bin/python benchmarks/pianoroll_speed.py
	.venv/bin/python benchmarks/performance_speed.py
	.venv/bin/python benchmarks/melody_speed.py
	.venv/bin/python benchmarks/drums_speed.py --bundle drum_kit
	.venv/bin/python benchmarks/drums_speed.py --bundle drum_kit_style
	.venv/bin/python benchmarks/music_vae_speed.py

quality: install
	.venv/bin/python -m generation.quality.improv_report
	.venv/bin/python -m generation.quality.performance_controls
	.venv/bin/python -m generation.quality.report
	.venv/bin/python -m generation.quality.interpolation
