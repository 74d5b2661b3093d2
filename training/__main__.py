"""`python -m training`: what is in the package and the commands it runs."""

import training

print(training.__doc__)
