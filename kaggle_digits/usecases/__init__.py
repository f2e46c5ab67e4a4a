"""What a user can do, one function each, called alike by the command line (`terminal/`) and the notebook face
(`api.py`): train and resume, blend, look at runs, and talk to Kaggle. Each checks its inputs at this boundary and
returns what the faces render; none prints."""
