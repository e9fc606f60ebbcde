"""Training: the per-trial function run by Ray, and final training on train+valid."""
