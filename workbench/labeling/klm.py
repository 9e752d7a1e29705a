"""The Keystroke-Level Model's operators (Card, Moran & Newell 1980), in seconds: what modelled labelling costs
are counted in (simulate.CostModel for classes, box_cost.CostModel for boxes)."""

MENTAL = 1.35   # M: mental preparation before an action
KEY = 0.28      # K: one keystroke or mouse click
POINT = 1.1     # P: pointing the mouse at a target
HOME = 0.4      # H: moving the hand between keyboard and mouse
