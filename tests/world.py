"""The README walkthrough's world: moved to ``testkit/world.py`` (the demo and the
benchmarks build it too); tests may import it from either place."""

from testkit.world import *  # noqa: F403
