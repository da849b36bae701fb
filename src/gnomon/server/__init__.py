"""The Gnomon server: frontend, history, matching, timers and persistence."""
