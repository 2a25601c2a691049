// PodioMirror
