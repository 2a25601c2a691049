# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift

.PHONY: build test test-long demo bench clean

build:
	$(SWIFT) build

## Runs the whole test suite against a throwaway PostgreSQL (or $DATABASE_URL when set).
## Tests run one at a time: several of them check timeouts, token expiry and quota windows
## against the wall clock, which a 2-core machine running them all at once cannot keep.
test:
	python3 scripts/check-compose.py
	scripts/with-postgres.sh $(SWIFT) test --no-parallel

## Scenarios that take over a minute each (CI runs them too).
test-long:
	PODIO_MIRROR_LONG_TESTS=1 scripts/with-postgres.sh $(SWIFT) test --no-parallel --filter LongTests

## A full demo: simulator, throwaway PostgreSQL, full and delta sync, status, example queries.
demo:
	$(SWIFT) build
	scripts/with-postgres.sh scripts/demo.sh

## The benchmark (not part of `make test`); BENCH_FLAGS="--items 200000" for the large run.
bench:
	$(SWIFT) build -c release
	scripts/with-postgres.sh scripts/bench.sh $(BENCH_FLAGS)

clean:
	rm -rf .build .pgdata
