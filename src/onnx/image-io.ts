/** The input and output names every image-tower graph uses: views [V, S, S, 3] NHWC → features [V, E]. */
export const IMAGE_INPUT = 'views';
export const IMAGE_OUTPUT = 'features';
