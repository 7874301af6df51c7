// Original file: proto/animate/v1/animator.proto


export interface ListModelsRequest {
}

export interface ListModelsRequest__Output {
}
