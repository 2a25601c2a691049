// PodioAPI
