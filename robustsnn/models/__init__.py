"""Network definitions: the original and the SNN-tailored TextCNN (spiking net: snn.py)."""
