"""De-identified releases per access tier, prepared by the NHLBI rules for preparing data sets."""
