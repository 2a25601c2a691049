# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift

.PHONY: build test test-long demo bench bench-freshness install uninstall clean

# `make install PREFIX=/opt/podio-mirror` (DESTDIR is honoured for packaging).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin

build:
	$(SWIFT) build

## Checks the compose file, the deployment files (env example, systemd units, Kubernetes
## manifest), that the dependencies resolve at the versions in dependencies.lock.json, and the
## code's format (`swift format` with the committed .swift-format; `swift format format -i -r
## Sources Tests` fixes what it reports), then runs the
## whole test suite against a throwaway PostgreSQL (or $DATABASE_URL when set).
## Tests run in parallel. Token expiry, the token endpoint's throttle, retry budgets and the
## simulator's windows move on test clocks where a test waited for them; a gate in the tests
## (TestSlots) lets only a few harnesses run at once (a scenario of the binary counts double, a
## test that measures a real timeout runs alone, tests tagged .slow start first).
## PODIO_MIRROR_TEST_SLOTS=N sets the gate's width (default 6; 1 runs one harness at a time) and
## PODIO_MIRROR_TEST_TIMING=1 prints when each test waited, started and ended.
test:
	python3 scripts/check-compose.py
	python3 scripts/check-deploy.py
	python3 scripts/check-versions.py
	$(SWIFT) format lint --strict --recursive Sources Tests
	scripts/with-postgres.sh $(SWIFT) test

## Scenarios that take over a minute each (CI runs them too), in parallel like `make test`.
test-long:
	PODIO_MIRROR_LONG_TESTS=1 scripts/with-postgres.sh $(SWIFT) test --filter LongTests

## A full demo: simulator, throwaway PostgreSQL, full and delta sync, status, example queries.
demo:
	$(SWIFT) build
	scripts/with-postgres.sh scripts/demo.sh

## The benchmark (not part of `make test`); BENCH_FLAGS="--items 200000" for the large run.
bench:
	$(SWIFT) build -c release
	scripts/with-postgres.sh scripts/bench.sh $(BENCH_FLAGS)

## Freshness under Podio's quotas (50 apps, a steady stream of changes, the hour scaled to 36 s):
## polling alone, then hooks with reconciliation and 20 % of deliveries dropped. A few minutes.
## FRESHNESS_FLAGS="--window 72" for a finer scale; figures in docs/performance.md.
bench-freshness:
	$(SWIFT) build -c release
	scripts/with-postgres.sh .build/release/podio-bench freshness --mirror .build/release/podio-mirror --json .build/bench-freshness.json $(FRESHNESS_FLAGS)

## The release binary to $(DESTDIR)$(BINDIR) (default /usr/local/bin), with the Swift standard
## library linked in (as in the Docker image), so it runs where libpq5 is, without a Swift toolchain.
install:
	$(SWIFT) build -c release --product podio-mirror --static-swift-stdlib
	install -d "$(DESTDIR)$(BINDIR)"
	install -m 0755 "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/podio-mirror" "$(DESTDIR)$(BINDIR)/podio-mirror"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/podio-mirror"

clean:
	rm -rf .build .pgdata
