"""The Symphony emulator: a pod, Key Manager, session auth and agent on loopback or in-process."""
