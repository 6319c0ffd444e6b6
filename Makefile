# Two commands are all a new user needs: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= sqlite:///tamtu-demo.db
SAMPLES := data/samples/out

.PHONY: install demo test lint samples clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

samples: $(STAMP)
	$(PY) data/samples/generate.py --out $(SAMPLES)

# Ingest the samples month by month, as a commune enters its books (so every month's hot spots
# raise their alerts), make a demo admin with a fresh access token, then serve API and dashboard.
demo: samples
	@for month in $$(ls $(SAMPLES) | grep -o '20[0-9][0-9]-[01][0-9]' | sort -u); do \
	  echo "Nhập dữ liệu mẫu tháng $$month"; \
	  TAMTU_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/tamtu ingest $(SAMPLES)/*-$$month.* || exit 1; \
	done
	TAMTU_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/tamtu users add demo --role admin --exist-ok
	@echo "Mã truy cập để đăng nhập trang theo dõi (tài khoản demo, quản trị):"
	@TAMTU_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/tamtu tokens create --user demo 2>/dev/null
	TAMTU_DATABASE_URL=$(DEMO_DB) $(VENV)/bin/tamtu serve

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# pytest exits 5 when no test ran; make treats every non-zero status as a failure.
test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) $(SAMPLES) tamtu-demo.db* tamtu-runs .pytest_cache .ruff_cache
