/** The access key pair s3rver accepts out of the box. */
export declare const S3RVER_CREDENTIALS: {
  readonly accessKeyId: "S3RVER";
  readonly secretAccessKey: "S3RVER";
};

/** A running s3rver on 127.0.0.1 with one bucket, in its own temporary folder. */
export interface FakeS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** The S3 adapter options that reach this server's bucket: spread them into `createS3Storage`'s. */
  options: {
    bucket: string;
    endpoint: string;
    region: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** Every file s3rver keeps for the bucket (objects, metadata, multipart parts), relative to it. */
  storedFiles(): Promise<string[]>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Starts s3rver on a free port with one bucket (default `strongbox-test`), in a child process. */
export declare function startFakeS3(bucket?: string): Promise<FakeS3>;
