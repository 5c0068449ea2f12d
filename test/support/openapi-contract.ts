import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import addFormats from 'ajv-formats';
import OpenAPIBackend from 'openapi-backend';
import type { OpenAPIV3 } from 'openapi-types';
import type { Response } from 'supertest';

/** What the contract looks at in an answer. */
export type ContractResponse = Pick<Response, 'status' | 'headers' | 'body' | 'text'>;

/** Headers of the server's own making: each one sent must be declared where it is sent. */
const SERVER_HEADER = /^(x-request-id|x-cache|retry-after.*|x-ratelimit-.*|www-authenticate)$/;

/**
 * The committed openapi.json, checked against real answers with openapi-backend's response
 * validators (body schema, header schemas), plus what they leave out: the status and the content
 * type are documented, required headers are present, and no server header goes undeclared.
 */
export class OpenApiContract {
  readonly document: OpenAPIV3.Document;
  private readonly api: OpenAPIBackend;

  private constructor(document: OpenAPIV3.Document, api: OpenAPIBackend) {
    this.document = document;
    this.api = api;
  }

  static async load(): Promise<OpenApiContract> {
    const path = join(__dirname, '..', '..', 'openapi.json');
    const document = JSON.parse(readFileSync(path, 'utf8')) as OpenAPIV3.Document;
    // openapi-backend dereferences the document it is given: keep ours intact for lookups.
    const api = new OpenAPIBackend({
      definition: structuredClone(document),
      quick: false,
      // `format: uuid`, `date-time` … are part of the contract: check them.
      customizeAjv: (ajv) => addFormats(ajv),
    });
    await api.init();
    return new OpenApiContract(document, api);
  }

  operationIds(): string[] {
    return Object.values(this.document.paths).flatMap((item) =>
      Object.values(item ?? {})
        .map((operation) => (operation as OpenAPIV3.OperationObject).operationId)
        .filter((id): id is string => typeof id === 'string'),
    );
  }

  /** Every way `response` departs from what the document says `operationId` answers. */
  problems(operationId: string, response: ContractResponse): string[] {
    const operation = this.api.getOperation(operationId);
    if (!operation) {
      return [`${operationId} is not in openapi.json`];
    }
    const status = String(response.status);
    const documented = operation.responses?.[status] as OpenAPIV3.ResponseObject | undefined;
    if (!documented) {
      return [`${operationId} answered ${status}, which is not documented`];
    }
    const problems: string[] = [];
    const contentType = String(response.headers['content-type'] ?? '').split(';')[0];
    const bodyExpected = documented.content !== undefined && status !== '204';
    if (bodyExpected && !documented.content?.[contentType]) {
      problems.push(
        `${operationId} ${status}: content type ${contentType || 'none'} not documented`,
      );
    }
    if (!bodyExpected && response.text) {
      problems.push(`${operationId} ${status}: a body where none is documented`);
    }
    if (bodyExpected) {
      const body = contentType === 'application/json' ? response.body : response.text;
      const result = this.api.validateResponse(body, operation, response.status);
      problems.push(
        ...(result.errors ?? []).map((e) => `${operationId} ${status} body: ${describe(e)}`),
      );
    }
    const headers = this.api.validateResponseHeaders(response.headers, operation, {
      statusCode: response.status,
    });
    problems.push(
      ...(headers.errors ?? []).map((e) => `${operationId} ${status} header: ${describe(e)}`),
    );
    const declared = new Map(
      Object.entries(documented.headers ?? {}).map(([name, header]) => [
        name.toLowerCase(),
        header as OpenAPIV3.HeaderObject,
      ]),
    );
    for (const [name, header] of declared) {
      if (header.required && response.headers[name] === undefined) {
        problems.push(`${operationId} ${status}: required header ${name} missing`);
      }
    }
    for (const name of Object.keys(response.headers)) {
      if (SERVER_HEADER.test(name) && !declared.has(name)) {
        problems.push(`${operationId} ${status}: header ${name} sent but not declared`);
      }
    }
    return problems;
  }
}

function describe(error: { instancePath?: string; message?: string }): string {
  return `${error.instancePath ?? ''} ${error.message ?? ''}`.trim();
}
