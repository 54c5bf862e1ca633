"""Models-from-code entry point MLflow runs when it loads a logged smsseg model (no pickle)."""

from mlflow.models import set_model

from smsseg.tracking.pyfunc import SmssegPyfuncModel

set_model(SmssegPyfuncModel())
