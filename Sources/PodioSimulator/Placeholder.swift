// PodioSimulator
