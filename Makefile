# ProPilot: `make demo` and `make test` set everything up on first use.
# Setup is incremental: each step re-runs only when its inputs changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PREFIX := install
MSGS := propilot_msgs
# Distinct DDS domain per run so parallel runs on one machine do not hear each other.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST

.PHONY: setup demo test lint clean maps

setup: $(VENV)/.deps-stamp $(PREFIX)/.msgs-stamp $(VENV)/.editable-stamp

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps-stamp: requirements.txt tools/fix_ros_cmake_paths.py | $(VENV)/bin/python
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) tools/fix_ros_cmake_paths.py
	touch $@

$(PREFIX)/.msgs-stamp: $(VENV)/.deps-stamp $(MSGS)/CMakeLists.txt $(MSGS)/package.xml $(wildcard $(MSGS)/msg/*.msg)
	AMENT_PREFIX_PATH=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH cmake -S $(MSGS) -B build/$(MSGS) \
		-DCMAKE_PREFIX_PATH=$(CURDIR)/$(VENV) -DPython3_EXECUTABLE=$(CURDIR)/$(PY) \
		-DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=$(CURDIR)/$(PREFIX) > build-msgs.log 2>&1 \
		|| (tail -n 40 build-msgs.log; exit 1)
	AMENT_PREFIX_PATH=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH cmake --build build/$(MSGS) -j2 >> build-msgs.log 2>&1 \
		|| (tail -n 40 build-msgs.log; exit 1)
	cmake --install build/$(MSGS) >> build-msgs.log 2>&1 || (tail -n 40 build-msgs.log; exit 1)
	@rm -f build-msgs.log
	touch $@

# Editable install with the console scripts in the venv's bin/ (setup.cfg puts them in
# lib/propilot, where ros2 launch looks for them on a colcon install).
$(VENV)/.editable-stamp: $(VENV)/.deps-stamp setup.py setup.cfg package.xml
	$(PY) setup.py -q develop --no-deps --script-dir $(VENV)/bin > /dev/null 2>&1 \
		|| $(PY) setup.py develop --no-deps --script-dir $(VENV)/bin
	touch $@

demo: setup
	$(VENV)/bin/propilot drive --scenario sim/scenarios/follow_slower_traffic.yaml --out out/demo

test: setup
	$(PY) -m pytest tests

lint: setup
	$(VENV)/bin/ruff check .

maps: setup
	$(PY) maps/generate.py

clean:
	rm -rf build $(PREFIX) out $(VENV)
