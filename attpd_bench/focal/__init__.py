"""Focal mechanisms from polarities: one module per job.

- :mod:`mechanism`: double-couple geometry (fault vectors, auxiliary plane) and the Kagan angle;
- :mod:`velocity`: the 1-D velocity models of the synthetic regions and first-arrival ray geometry in them;
- :mod:`polarities`: a polarity source (true signs, analyst labels, a model's probabilities) as SKHASH's rows;
- :mod:`sites`: station coordinates, origins and velocity model, from the user's files or the store;
- :mod:`truth`: a synthetic region's planted truth, aligned with a store's traces;
- :mod:`skhash`: SKHASH the program: its own environment, its input set, running it;
- :mod:`closure`: what ``attpd mechanisms`` runs: polarities -> SKHASH -> mechanisms scored by the Kagan angle;
- :mod:`reversals`: what ``attpd audit reversals`` runs: stations whose polarities disagree with the
  mechanisms of the other stations.
"""
