/** asl-validator 4 ships no type declarations: the part of its API the tests use. */
declare module 'asl-validator' {
  interface ValidationOptions {
    /** Check the JSONPath syntax of InputPath, OutputPath, ResultPath, Parameters … @default true */
    readonly checkPaths: boolean;
    /** Check that every Task `Resource` is a well-formed ARN. @default true */
    readonly checkArn: boolean;
  }
  interface ValidationError {
    readonly 'Error code'?: string;
    readonly Message?: string;
    readonly message?: string;
    readonly instancePath?: string;
  }
  function validator(
    definition: unknown,
    opts?: ValidationOptions,
  ): { isValid: boolean; errors: ValidationError[]; errorsText: (separator?: string) => string };
  export = validator;
}
