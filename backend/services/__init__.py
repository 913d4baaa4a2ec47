"""Business logic without HTTP. Functions take ``now`` (epoch seconds) explicitly."""
