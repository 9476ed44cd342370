"""Reliability and hardening: fuzzing, bursts, concurrent workers, faults and limits."""
