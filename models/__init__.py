"""How the shipped models are made and measured: training, evaluation, the artefacts."""
