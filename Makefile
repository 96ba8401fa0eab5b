# The two commands of the README:
#   make demo   install dfwatch and run it on the embedded default store and fixture web
#   make test   install everything (incl. the Elasticsearch node) and run the whole suite
.PHONY: demo test setup lint bench bench-nlp bench-crawl bench-search

demo:
	scripts/setup.sh
	.venv/bin/dfwatch demo

test:
	scripts/setup.sh --test
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check . && .venv/bin/mypy dfwatch crawler pipelines nlp

# every benchmark module, one process each, into benchmarks/results/report.md (BENCH_ARGS=--quick, --only ...)
bench:
	.venv/bin/dfwatch bench $(BENCH_ARGS)

bench-nlp:
	.venv/bin/python -m benchmarks.nlp_stage --docs 400

bench-crawl:
	.venv/bin/python -m benchmarks.crawl_throughput --pages 300

# search, timeline and figure-series latency at each size, then Parquet export peak RSS at the largest
# (sizes: BENCH_DOCS=10000,100000; Elasticsearch: $DFWATCH_BENCH_ES_URL, else a devnode it starts)
BENCH_DOCS ?= 10000,100000
bench-search:
	.venv/bin/python -m benchmarks.search_latency --docs $(BENCH_DOCS) --export
