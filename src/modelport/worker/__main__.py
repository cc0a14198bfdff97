"""`python -m modelport.worker ...`: the same command line as `modelport worker` (the supervisor uses it)."""

from modelport.worker.command import worker

if __name__ == "__main__":
    worker(prog_name="python -m modelport.worker")
