"""The operators' dashboard: the programme's figures over a period (`figures`) and their charts (`charts`)."""
