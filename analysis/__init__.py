"""Pure numpy maths: region masks, statistics, histograms, profiles, moments, PV, fitting."""
