"""Search-space modules: one per model family, each defining `space() -> SearchSpace`.

Priors are written the way you would argue for them in a course: learning rates on a log scale,
layer widths in steps, and only the dimensions that usually matter. Every extra dimension costs
trials (the curse of dimensionality), so fix what you know in the experiment file's [space].
"""
