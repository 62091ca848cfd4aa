"""Work the cell template (the fork server) does once, so that no cell does it: imported after the preloads.

tqdm, which Hugging Face datasets uses, creates a named semaphore on first use.
Made here, every cell process inherits it; made in each cell, each would leave
one behind (cells end with ``os._exit``) for the resource tracker to clean up
with a warning at the end of the run.
"""

import tqdm

tqdm.tqdm.get_lock()
